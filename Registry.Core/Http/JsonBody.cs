using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Registry.Core.Http;

/// <summary>Reads small request bodies (JSON documents) with a size cap, never trusting Content-Length.</summary>
public static class JsonBody
{
    /// <summary>The body bytes, or null when the body exceeds <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes) return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>Parses strict UTF-8 JSON; null when the bytes are not valid UTF-8 JSON.</summary>
    public static JsonDocument? TryParse(byte[] body)
    {
        // System.Text.Json does not validate the UTF-8 of every string it skips over.
        if (!System.Text.Unicode.Utf8.IsValid(body)) return null;
        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
