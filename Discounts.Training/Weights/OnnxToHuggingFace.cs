namespace Discounts.Training.Weights;

/// <summary>
/// Recovers Hugging Face parameter names for the initializers of a BERT exported with torch.onnx.
/// The exporter keeps named parameters under their names, except a Linear's weight: it becomes an anonymous,
/// transposed ([in, out]) initializer feeding a MatMul whose output goes into exactly one Add with the layer's
/// named <c>X.bias</c>. So that weight is <c>X.weight</c>, transposed back. Any float initializer left without a
/// name is an error: nothing is silently dropped.
/// </summary>
public static class OnnxToHuggingFace
{
    public static IReadOnlyDictionary<string, NamedWeight> Map(OnnxModel model)
    {
        var initializers = model.Initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (var node in model.Nodes)
        {
            foreach (var input in node.Inputs)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(node);
            }
        }

        var mapped = new Dictionary<string, NamedWeight>(StringComparer.Ordinal);
        var consumed = new HashSet<string>(StringComparer.Ordinal);
        void Add(NamedWeight weight)
        {
            if (!mapped.TryAdd(weight.Name, weight))
                throw new InvalidDataException($"Two ONNX initializers map to '{weight.Name}'.");
        }

        foreach (var node in model.Nodes.Where(n => n.OpType == "MatMul" && n.Inputs.Count == 2))
        {
            if (!initializers.TryGetValue(node.Inputs[1], out var weight) || !weight.IsFloat || weight.Dims.Length != 2)
                continue;
            var output = node.Outputs.Single();
            var users = consumers.GetValueOrDefault(output) ?? [];
            if (users is not [{ OpType: "Add" } add])
                throw new InvalidDataException($"MatMul '{node.Name}' must feed exactly one Add; it feeds {users.Count} node(s).");
            var biasName = add.Inputs.Single(input => input != output);
            if (!biasName.EndsWith(".bias", StringComparison.Ordinal) || !initializers.TryGetValue(biasName, out var bias))
                throw new InvalidDataException($"MatMul '{node.Name}' is added to '{biasName}', which is not a named bias.");
            long inFeatures = weight.Dims[0], outFeatures = weight.Dims[1];
            if (bias.Dims is not [var biasLength] || biasLength != outFeatures)
                throw new InvalidDataException($"Bias '{biasName}' does not match weight '{weight.Name}' [{inFeatures},{outFeatures}].");
            Add(new NamedWeight(biasName[..^".bias".Length] + ".weight", [outFeatures, inFeatures],
                Transpose(weight.FloatData!, (int)inFeatures, (int)outFeatures)));
            consumed.Add(weight.Name);
        }

        foreach (var node in model.Nodes.Where(n => n.OpType == "Gemm"))
        {
            // A Gemm keeps its named weight in [out, in] only with transB = 1; anything else would need a transpose
            // this mapping does not know to apply.
            if (initializers.ContainsKey(node.Inputs[1]) && node.IntAttributes.GetValueOrDefault("transB") != 1)
                throw new NotSupportedException($"Gemm '{node.Name}' without transB = 1 is not supported.");
        }

        foreach (var initializer in model.Initializers)
        {
            if (consumed.Contains(initializer.Name) || !initializer.IsFloat) continue;
            if (!initializer.Name.Contains('.', StringComparison.Ordinal))
                throw new InvalidDataException(
                    $"Float initializer '{initializer.Name}' [{string.Join(",", initializer.Dims)}] has no Hugging Face name.");
            Add(new NamedWeight(initializer.Name, initializer.Dims, initializer.FloatData!));
        }
        return mapped;
    }

    private static float[] Transpose(float[] source, int rows, int columns)
    {
        var result = new float[source.Length];
        for (var row = 0; row < rows; row++)
        {
            for (var column = 0; column < columns; column++)
                result[(column * rows) + row] = source[(row * columns) + column];
        }
        return result;
    }
}
