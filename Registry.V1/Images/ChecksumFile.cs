using System.Text;
using System.Text.Json;

namespace Registry.V1.Images;

/// <summary>The <c>_checksum</c> file: a JSON list, or a legacy bare string (docs/storage-layout.md, 'V1 readers must tolerate').</summary>
public static class ChecksumFile
{
    public static byte[] Write(string checksum) => Encoding.UTF8.GetBytes($"[\"{checksum}\"]");

    public static IReadOnlyList<string> Parse(byte[]? content)
    {
        if (content is null) return [];
        var text = Encoding.UTF8.GetString(content).Trim();
        if (text.Length == 0) return [];
        if (!text.StartsWith('[')) return [text.Trim('"')];
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.EnumerateArray()
                .Where(e => e.ValueKind == JsonValueKind.String)
                .Select(e => e.GetString()!)
                .ToArray();
        }
        catch (JsonException)
        {
            return [];
        }
        catch (InvalidOperationException)
        {
            return [];
        }
    }
}
