using System.Runtime.InteropServices;

namespace Discounts.Training.Weights;

/// <summary>An ONNX initializer (a constant tensor). Float data is decoded; other types keep only their shape.</summary>
public sealed record OnnxTensor(string Name, long[] Dims, int DataType, float[]? FloatData)
{
    public const int FloatType = 1;

    public bool IsFloat => DataType == FloatType;

    public long ElementCount => Dims.Aggregate(1L, (product, dim) => product * dim);
}

/// <summary>A graph node: operator type, inputs and outputs by name, and integer attributes.</summary>
public sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, long> IntAttributes);

/// <summary>
/// The parts of an ONNX <c>ModelProto</c> the weight mapping needs: initializers, nodes and graph input names.
/// Field numbers follow onnx.proto: ModelProto.graph = 7; GraphProto.node = 1, initializer = 5, input = 11;
/// NodeProto.input = 1, output = 2, name = 3, op_type = 4, attribute = 5; AttributeProto.name = 1, i = 3;
/// TensorProto.dims = 1, data_type = 2, float_data = 4, name = 8, raw_data = 9, data_location = 14.
/// </summary>
public sealed class OnnxModel
{
    private OnnxModel(IReadOnlyList<OnnxTensor> initializers, IReadOnlyList<OnnxNode> nodes, IReadOnlyList<string> inputs)
    {
        Initializers = initializers;
        Nodes = nodes;
        Inputs = inputs;
    }

    public IReadOnlyList<OnnxTensor> Initializers { get; }

    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>Graph input names (ONNX IR 3 lists initializers here too).</summary>
    public IReadOnlyList<string> Inputs { get; }

    public static OnnxModel Parse(byte[] model)
    {
        var initializers = new List<OnnxTensor>();
        var nodes = new List<OnnxNode>();
        var inputs = new List<string>();
        var reader = new ProtobufReader(model, 0, model.Length);
        var sawGraph = false;
        while (reader.HasMore)
        {
            var (field, wireType) = reader.ReadTag();
            if (field == 7 && wireType == ProtobufReader.LengthDelimited)
            {
                ReadGraph(reader.ReadMessage(), initializers, nodes, inputs);
                sawGraph = true;
            }
            else
            {
                reader.Skip(wireType);
            }
        }
        if (!sawGraph) throw new InvalidDataException("The ONNX model has no graph.");
        return new OnnxModel(initializers, nodes, inputs);
    }

    private static void ReadGraph(ProtobufReader graph, List<OnnxTensor> initializers, List<OnnxNode> nodes, List<string> inputs)
    {
        while (graph.HasMore)
        {
            var (field, wireType) = graph.ReadTag();
            switch (field)
            {
                case 1 when wireType == ProtobufReader.LengthDelimited: nodes.Add(ReadNode(graph.ReadMessage())); break;
                case 5 when wireType == ProtobufReader.LengthDelimited: initializers.Add(ReadTensor(graph.ReadMessage())); break;
                case 11 when wireType == ProtobufReader.LengthDelimited: inputs.Add(ReadValueInfoName(graph.ReadMessage())); break;
                default: graph.Skip(wireType); break;
            }
        }
    }

    private static string ReadValueInfoName(ProtobufReader valueInfo)
    {
        var name = "";
        while (valueInfo.HasMore)
        {
            var (field, wireType) = valueInfo.ReadTag();
            if (field == 1 && wireType == ProtobufReader.LengthDelimited) name = valueInfo.ReadString();
            else valueInfo.Skip(wireType);
        }
        return name;
    }

    private static OnnxNode ReadNode(ProtobufReader node)
    {
        string name = "", opType = "";
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, long>(StringComparer.Ordinal);
        while (node.HasMore)
        {
            var (field, wireType) = node.ReadTag();
            switch (field)
            {
                case 1 when wireType == ProtobufReader.LengthDelimited: inputs.Add(node.ReadString()); break;
                case 2 when wireType == ProtobufReader.LengthDelimited: outputs.Add(node.ReadString()); break;
                case 3 when wireType == ProtobufReader.LengthDelimited: name = node.ReadString(); break;
                case 4 when wireType == ProtobufReader.LengthDelimited: opType = node.ReadString(); break;
                case 5 when wireType == ProtobufReader.LengthDelimited:
                    var (attributeName, value) = ReadIntAttribute(node.ReadMessage());
                    if (value is { } integer) attributes[attributeName] = integer;
                    break;
                default: node.Skip(wireType); break;
            }
        }
        return new OnnxNode(name, opType, inputs, outputs, attributes);
    }

    private static (string Name, long? Value) ReadIntAttribute(ProtobufReader attribute)
    {
        var name = "";
        long? value = null;
        while (attribute.HasMore)
        {
            var (field, wireType) = attribute.ReadTag();
            if (field == 1 && wireType == ProtobufReader.LengthDelimited) name = attribute.ReadString();
            else if (field == 3 && wireType == ProtobufReader.Varint) value = (long)attribute.ReadVarint();
            else attribute.Skip(wireType);
        }
        return (name, value);
    }

    private static OnnxTensor ReadTensor(ProtobufReader tensor)
    {
        var name = "";
        var dims = new List<long>();
        var dataType = 0;
        var floats = new List<float>();
        (int Start, int Length)? raw = null;
        while (tensor.HasMore)
        {
            var (field, wireType) = tensor.ReadTag();
            switch (field)
            {
                case 1: tensor.ReadInt64s(wireType, dims); break;
                case 2 when wireType == ProtobufReader.Varint: dataType = (int)tensor.ReadVarint(); break;
                case 4 when wireType == ProtobufReader.LengthDelimited:
                    var packed = tensor.ReadMessage();
                    while (packed.HasMore) floats.Add(packed.ReadFloat());
                    break;
                case 4 when wireType == ProtobufReader.Fixed32: floats.Add(tensor.ReadFloat()); break;
                case 8 when wireType == ProtobufReader.LengthDelimited: name = tensor.ReadString(); break;
                case 9 when wireType == ProtobufReader.LengthDelimited: raw = tensor.ReadLengthDelimited(); break;
                case 14 when wireType == ProtobufReader.Varint:
                    if (tensor.ReadVarint() != 0)
                        throw new NotSupportedException($"ONNX tensor '{name}' keeps its data in an external file.");
                    break;
                default: tensor.Skip(wireType); break;
            }
        }

        float[]? data = null;
        if (dataType == OnnxTensor.FloatType)
        {
            data = raw is { } bytes
                ? MemoryMarshal.Cast<byte, float>(tensor.Buffer.AsSpan(bytes.Start, bytes.Length)).ToArray()
                : [.. floats];
            var expected = dims.Aggregate(1L, (product, dim) => product * dim);
            if (data.Length != expected)
                throw new InvalidDataException($"ONNX tensor '{name}' has {data.Length} floats for shape [{string.Join(",", dims)}].");
        }
        return new OnnxTensor(name, [.. dims], dataType, data);
    }
}
