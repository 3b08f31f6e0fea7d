using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Registry.Core.IO;

namespace Registry.Core.Http;

/// <summary>Reads small request bodies (JSON documents) with a size cap, never trusting Content-Length.</summary>
public static class JsonBody
{
    /// <summary>The body bytes, or null when the body exceeds <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes) return null;
        return await CappedRead.ReadAsync(request.Body, maxBytes, ct).ConfigureAwait(false);
    }

    /// <summary>Parses strict UTF-8 JSON; null when the bytes are not valid UTF-8 JSON.</summary>
    public static JsonDocument? TryParse(byte[] body)
    {
        // System.Text.Json does not validate the UTF-8 of every string it skips over.
        if (!System.Text.Unicode.Utf8.IsValid(body)) return null;
        try
        {
            var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            if (StringsDecode(body)) return document;
            document.Dispose();
            return null;
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

    /// <summary>
    /// False when a string or property name escapes a lone surrogate (<c>"\ud800"</c>): JsonDocument accepts it, but
    /// reading it as a string throws, which would surface as a 500 in whichever handler reads it.
    /// </summary>
    private static bool StringsDecode(byte[] body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped) reader.GetString();
            }
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
