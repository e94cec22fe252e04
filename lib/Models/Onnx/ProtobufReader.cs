using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace WhatNetworksLearn.Models.Onnx;

/// <summary>The four encodings a protobuf field can have on the wire (groups, wire types 3 and 4, are long deprecated).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    Fixed32 = 5,
}

/// <summary>
/// Reads the protobuf wire format, field by field, from a byte span: just enough to walk an ONNX file
/// without a protobuf library. It knows nothing about ONNX; <see cref="OnnxModel"/> gives the fields meaning.
/// Every read is bounds-checked, and damaged input (a length running past the end, an endless varint,
/// an unknown wire type) is an <see cref="InvalidDataException"/> that says where it happened.
/// </summary>
/// <remarks>
/// Usage: <c>while (reader.Next(out var field, out var wire)) switch (field) { case 1: … reader.ReadString() …; default: reader.Skip(wire); }</c>.
/// Repeated numeric fields may come packed (one length-delimited run) or one value per tag; the
/// <c>Read…Values</c> methods accept both.
/// </remarks>
internal ref struct ProtobufReader
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    readonly ReadOnlySpan<byte> data;
    readonly int baseOffset;
    int position;

    /// <summary>A reader over a whole message. <paramref name="baseOffset"/> only serves error messages (where a sub-message starts in the file).</summary>
    public ProtobufReader(ReadOnlySpan<byte> data, int baseOffset = 0)
    {
        this.data = data;
        this.baseOffset = baseOffset;
        position = 0;
    }

    /// <summary>True when every byte has been read.</summary>
    public readonly bool AtEnd => position >= data.Length;

    /// <summary>The offset of the next byte, counted from the start of the outermost message (for error messages).</summary>
    public readonly long Offset => baseOffset + (long)position;

    /// <summary>Reads the next field's tag. False at the end of the message.</summary>
    public bool Next(out int fieldNumber, out WireType wireType)
    {
        if (AtEnd)
        {
            fieldNumber = 0;
            wireType = default;
            return false;
        }
        var start = Offset;
        var tag = ReadVarint();
        var number = tag >> 3;
        var wire = (int)(tag & 7);
        if (number == 0 || number > 536_870_911)
            throw Damaged($"field number {number} at byte {start}");
        if (wire is not (0 or 1 or 2 or 5))
            throw Damaged($"wire type {wire} (field {number}) at byte {start}");
        fieldNumber = (int)number;
        wireType = (WireType)wire;
        return true;
    }

    /// <summary>A base-128 varint, as used by int32, int64, uint64, bool and enum fields.</summary>
    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (position >= data.Length)
                throw Damaged($"the data ends inside a varint at byte {Offset}");
            var b = data[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return result;
        }
        throw Damaged($"a varint longer than 10 bytes ending at byte {Offset}");
    }

    /// <summary>An int64 field (negative numbers are ten-byte varints in two's complement).</summary>
    public long ReadInt64() => (long)ReadVarint();

    /// <summary>An int32 or enum field.</summary>
    public int ReadInt32() => (int)ReadVarint();

    /// <summary>Four little-endian bytes (fixed32, float).</summary>
    public uint ReadFixed32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, "a fixed32 value"));

    /// <summary>Eight little-endian bytes (fixed64, double).</summary>
    public ulong ReadFixed64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, "a fixed64 value"));

    /// <summary>A float field.</summary>
    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());

    /// <summary>A double field.</summary>
    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>The payload of a length-delimited field (bytes, string, sub-message, packed run), without copying.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        var start = Offset;
        var length = ReadVarint();
        if (length > (ulong)(data.Length - position))
            throw Damaged($"a field at byte {start} claims {length} bytes but only {data.Length - position} remain (the file is probably truncated)");
        return Take((int)length, "a length-delimited field");
    }

    /// <summary>A UTF-8 string field.</summary>
    public string ReadString()
    {
        try
        {
            return StrictUtf8.GetString(ReadBytes());
        }
        catch (DecoderFallbackException e)
        {
            throw Damaged($"a string that is not valid UTF-8 before byte {Offset}: {e.Message}");
        }
    }

    /// <summary>A reader over an embedded message.</summary>
    public ProtobufReader ReadMessage()
    {
        var payload = ReadBytes();
        return new ProtobufReader(payload, (int)Math.Min(int.MaxValue, Offset - payload.Length));
    }

    /// <summary>Skips a field this reader's caller does not need.</summary>
    public void Skip(WireType wireType)
    {
        switch (wireType)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: Take(8, "a fixed64 value"); break;
            case WireType.Fixed32: Take(4, "a fixed32 value"); break;
            case WireType.LengthDelimited: ReadBytes(); break;
            default: throw Damaged($"wire type {(int)wireType} at byte {Offset}");
        }
    }

    /// <summary>Appends the values of a repeated varint field (int64, int32, enum), packed or not.</summary>
    public void ReadInt64Values(WireType wireType, List<long> into)
    {
        if (wireType == WireType.Varint)
        {
            into.Add(ReadInt64());
            return;
        }
        Expect(wireType, WireType.LengthDelimited, "a repeated integer field");
        var bytes = ReadBytes();
        var packed = new ProtobufReader(bytes, (int)Math.Min(int.MaxValue, Offset - bytes.Length));
        while (!packed.AtEnd)
            into.Add(packed.ReadInt64());
    }

    /// <summary>Appends the values of a repeated float field, packed or not. Packed runs are copied in one go.</summary>
    public void ReadFloatValues(WireType wireType, List<float> into)
    {
        if (wireType == WireType.Fixed32)
        {
            into.Add(ReadFloat());
            return;
        }
        Expect(wireType, WireType.LengthDelimited, "a repeated float field");
        var bytes = ReadBytes();
        if (bytes.Length % 4 != 0)
            throw Damaged($"a packed float run of {bytes.Length} bytes (not a multiple of 4) before byte {Offset}");
        into.AddRange(FloatsFromLittleEndian(bytes));
    }

    /// <summary>Appends the values of a repeated double field, packed or not.</summary>
    public void ReadDoubleValues(WireType wireType, List<double> into)
    {
        if (wireType == WireType.Fixed64)
        {
            into.Add(ReadDouble());
            return;
        }
        Expect(wireType, WireType.LengthDelimited, "a repeated double field");
        var bytes = ReadBytes();
        if (bytes.Length % 8 != 0)
            throw Damaged($"a packed double run of {bytes.Length} bytes (not a multiple of 8) before byte {Offset}");
        for (var i = 0; i < bytes.Length; i += 8)
            into.Add(BitConverter.UInt64BitsToDouble(BinaryPrimitives.ReadUInt64LittleEndian(bytes.Slice(i, 8))));
    }

    /// <summary>Little-endian IEEE floats as an array: a block copy on little-endian machines.</summary>
    public static float[] FloatsFromLittleEndian(ReadOnlySpan<byte> bytes)
    {
        var values = MemoryMarshal.Cast<byte, float>(bytes[..(bytes.Length / 4 * 4)]).ToArray();
        if (!BitConverter.IsLittleEndian)
            for (var i = 0; i < values.Length; i++)
                values[i] = BitConverter.UInt32BitsToSingle(BinaryPrimitives.ReverseEndianness(BitConverter.SingleToUInt32Bits(values[i])));
        return values;
    }

    /// <summary>Throws unless a field arrived with the encoding its schema prescribes.</summary>
    public readonly void Expect(WireType actual, WireType expected, string what)
    {
        if (actual != expected)
            throw Damaged($"{what} encoded as {actual} instead of {expected} before byte {Offset}");
    }

    ReadOnlySpan<byte> Take(int count, string what)
    {
        if (count < 0 || count > data.Length - position)
            throw Damaged($"the data ends inside {what} at byte {Offset}");
        var slice = data.Slice(position, count);
        position += count;
        return slice;
    }

    static InvalidDataException Damaged(string detail) => new($"Malformed protobuf data: {detail}.");
}
