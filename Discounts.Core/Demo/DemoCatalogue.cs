namespace Discounts.Core.Demo;

/// <summary>
/// One demo category: the product nouns it sells, the words its shoppers care about, its price band and whether
/// people buy it again and again (consumable).
/// </summary>
public sealed record DemoCategory(
    string Name,
    string[] Nouns,
    string[] TasteWords,
    long MinPriceCents,
    long MaxPriceCents,
    bool IsConsumable,
    string[] Sizes);

public static class DemoCatalogue
{
    public static IReadOnlyList<DemoCategory> Categories { get; } =
    [
        new("Skincare", ["serum", "moisturiser", "cleanser", "toner", "sunscreen", "eye cream"],
            ["retinol", "hyaluronic", "niacinamide", "vitamin", "hydrating", "spf"], 900, 6_500, true, ["30 ml", "50 ml", "100 ml"]),
        new("Haircare", ["shampoo", "conditioner", "hair oil", "hair mask", "scalp scrub"],
            ["argan", "keratin", "curly", "sulfate", "volumising", "frizz"], 600, 4_000, true, ["250 ml", "400 ml", "1 l"]),
        new("Makeup", ["lipstick", "mascara", "foundation", "eyeliner", "blush", "palette"],
            ["matte", "waterproof", "shimmer", "nude", "longwear", "vegan"], 700, 5_500, true, ["single", "duo", "set"]),
        new("Fragrance", ["eau de parfum", "cologne", "body mist", "scented candle"],
            ["vanilla", "citrus", "oud", "floral", "musk", "sandalwood"], 1_800, 14_000, false, ["30 ml", "50 ml", "100 ml"]),
        new("Coffee & Tea", ["espresso beans", "ground coffee", "green tea", "matcha", "chai"],
            ["arabica", "organic", "decaf", "origin", "roast", "ceremonial"], 500, 3_500, true, ["250 g", "500 g", "1 kg"]),
        new("Snacks", ["protein bar", "granola", "trail mix", "dark chocolate", "crisps"],
            ["gluten", "keto", "almond", "peanut", "salted", "sugarfree"], 250, 2_000, true, ["single", "6 pack", "12 pack"]),
        new("Fitness", ["yoga mat", "dumbbell", "resistance band", "kettlebell", "foam roller"],
            ["yoga", "pilates", "strength", "cardio", "grip", "stretching"], 1_200, 18_000, false, ["light", "medium", "heavy"]),
        new("Outdoor", ["tent", "sleeping bag", "hiking boots", "backpack", "headlamp"],
            ["hiking", "camping", "ultralight", "trail", "alpine", "insulated"], 1_500, 35_000, false, ["1 person", "2 person", "4 person"]),
        new("Electronics", ["headphones", "charger", "speaker", "smartwatch", "power bank"],
            ["wireless", "bluetooth", "noise", "usb", "battery", "bass"], 1_500, 40_000, false, ["black", "white", "blue"]),
        new("Books", ["novel", "cookbook", "biography", "thriller", "poetry collection"],
            ["mystery", "fantasy", "history", "romance", "science", "memoir"], 600, 3_500, false, ["paperback", "hardcover", "boxed set"]),
        new("Toys", ["puzzle", "building blocks", "board game", "plush bear", "remote car"],
            ["educational", "wooden", "stem", "family", "creative", "outdoor"], 800, 9_000, false, ["small", "medium", "large"]),
        new("Kitchen", ["skillet", "chef knife", "blender", "cutting board", "kettle"],
            ["cast iron", "stainless", "nonstick", "bamboo", "ceramic", "baking"], 1_000, 25_000, false, ["small", "medium", "large"]),
    ];

    public static DemoCategory ByName(string name) => Categories.First(c => c.Name == name);

    /// <summary>The discount ladder, in whole percent, that the randomised history drew from.</summary>
    public static IReadOnlyList<int> DiscountLadder { get; } = [0, 5, 10, 15, 20];
}
