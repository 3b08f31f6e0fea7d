using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Registry.Tests.Support;

/// <summary>Builds small layers: a tar (optionally gzip'd) of directories (content null) and files.</summary>
public static class TarBuilder
{
    public static readonly DateTimeOffset MTime = DateTimeOffset.FromUnixTimeSeconds(1400000000);

    public static byte[] Tar(params (string Name, string? Content)[] entries)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var entry = new UstarTarEntry(content is null ? TarEntryType.Directory : TarEntryType.RegularFile, name)
                {
                    ModificationTime = MTime,
                    Mode = content is null ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100,
                };
                if (content is not null) entry.DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content));
                writer.WriteEntry(entry);
            }
        }
        return output.ToArray();
    }

    public static byte[] GzipTar(params (string Name, string? Content)[] entries)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(Tar(entries));
        return output.ToArray();
    }
}
