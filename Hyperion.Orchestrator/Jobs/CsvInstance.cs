using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace Hyperion.Orchestrator.Jobs;

/// <summary>
/// A CSV row as the JSONL instance it stands for, for a model with one input: <c>1.5,2,3</c> becomes
/// <c>{"input": [1.5, 2, 3]}</c>. Fields that are numbers are written as numbers, others as strings (a BYTES input
/// takes them; a numeric input fails that line with the model's message). Quoted fields ("a,b", "say ""hi""") are
/// read as RFC 4180 has them; a quoted field cannot span lines.
/// </summary>
internal static class CsvInstance
{
    /// <summary>Whether every field of the row is a number: a first row that is not is the header.</summary>
    public static bool IsNumeric(ReadOnlySpan<byte> row)
    {
        foreach (var field in Fields(row))
        {
            if (!Utf8Parser.TryParse(field.Trim(" \t"u8), out double _, out var consumed) || consumed != field.Trim(" \t"u8).Length)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Writes the row as one JSON object line (no newline) to <paramref name="output"/>.</summary>
    public static void Write(ReadOnlySpan<byte> row, string input, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteStartArray(input);
        foreach (var raw in Fields(row))
        {
            var field = raw.Trim(" \t"u8);
            if (Utf8Parser.TryParse(field, out double number, out var consumed) && consumed == field.Length && double.IsFinite(number))
            {
                writer.WriteNumberValue(number);
            }
            else
            {
                writer.WriteStringValue(Unquote(field));
            }
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static string Unquote(ReadOnlySpan<byte> field)
    {
        if (field.Length >= 2 && field[0] == (byte)'"' && field[^1] == (byte)'"')
        {
            return Encoding.UTF8.GetString(field[1..^1]).Replace("\"\"", "\"", StringComparison.Ordinal);
        }
        return Encoding.UTF8.GetString(field);
    }

    private static List<byte[]> Fields(ReadOnlySpan<byte> row)
    {
        var fields = new List<byte[]>();
        var start = 0;
        var quoted = false;
        for (var i = 0; i < row.Length; i++)
        {
            if (row[i] == (byte)'"')
            {
                quoted = !quoted;
            }
            else if (row[i] == (byte)',' && !quoted)
            {
                fields.Add(row[start..i].ToArray());
                start = i + 1;
            }
        }
        fields.Add(row[start..].ToArray());
        return fields;
    }
}
