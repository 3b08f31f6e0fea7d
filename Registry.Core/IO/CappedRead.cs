namespace Registry.Core.IO;

/// <summary>A small document read whole from a stream (a JSON body, a manifest), up to a cap that no length header is trusted for.</summary>
public static class CappedRead
{
    /// <summary>Every byte of <paramref name="source"/>, or null as soon as it holds more than <paramref name="maxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(Stream source, long maxBytes, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await source.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
