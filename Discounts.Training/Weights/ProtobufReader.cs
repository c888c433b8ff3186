using System.Buffers.Binary;
using System.Text;

namespace Discounts.Training.Weights;

/// <summary>
/// Reads protobuf wire format from a slice of a byte array: just enough for ONNX model files, with no
/// dependency on generated code. Sub-messages are read by creating a reader over their slice.
/// </summary>
internal struct ProtobufReader(byte[] buffer, int start, int length)
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int Fixed32 = 5;

    private readonly int end = start + length;
    private int position = start;

    public readonly byte[] Buffer => buffer;

    public readonly bool HasMore => position < end;

    public (int Field, int WireType) ReadTag()
    {
        var tag = ReadVarint();
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte();
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException("Malformed protobuf varint.");
    }

    public (int Start, int Length) ReadLengthDelimited()
    {
        var length = checked((int)ReadVarint());
        if (length < 0 || position + length > end) throw new InvalidDataException("Protobuf field runs past its message.");
        var startOfField = position;
        position += length;
        return (startOfField, length);
    }

    public ProtobufReader ReadMessage()
    {
        var (fieldStart, fieldLength) = ReadLengthDelimited();
        return new ProtobufReader(buffer, fieldStart, fieldLength);
    }

    public string ReadString()
    {
        var (fieldStart, fieldLength) = ReadLengthDelimited();
        return Encoding.UTF8.GetString(buffer, fieldStart, fieldLength);
    }

    public float ReadFloat()
    {
        EnsureAvailable(4);
        var value = BinaryPrimitives.ReadSingleLittleEndian(buffer.AsSpan(position, 4));
        position += 4;
        return value;
    }

    /// <summary>Reads a varint field that may be packed (one length-delimited run) or not.</summary>
    public void ReadInt64s(int wireType, List<long> into)
    {
        if (wireType == Varint)
        {
            into.Add((long)ReadVarint());
            return;
        }
        var packed = ReadMessage();
        while (packed.HasMore) into.Add((long)packed.ReadVarint());
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadVarint(); break;
            case Fixed64: EnsureAvailable(8); position += 8; break;
            case LengthDelimited: ReadLengthDelimited(); break;
            case Fixed32: EnsureAvailable(4); position += 4; break;
            default: throw new InvalidDataException($"Unsupported protobuf wire type {wireType}.");
        }
    }

    private byte ReadByte()
    {
        EnsureAvailable(1);
        return buffer[position++];
    }

    private readonly void EnsureAvailable(int count)
    {
        if (position + count > end) throw new InvalidDataException("Protobuf message ends early.");
    }
}
