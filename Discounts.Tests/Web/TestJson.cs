using System.Text.Json;
using System.Text.Json.Serialization;

namespace Discounts.Tests.Web;

/// <summary>Reads responses the way the API writes them: camelCase, enums as camelCase strings.</summary>
public static class TestJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
