using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace Registry.Bench.Http;

/// <summary>
/// The yardstick: the least a Kestrel app has to do to serve the same traffic as the registry.
/// PUT /upload streams the body to a temp file while hashing it (what the registry does with a
/// layer; with ?fsync=true also to disk before the answer), PUT /drain reads the body and throws it
/// away (the ceiling of any upload), GET /file/{name} sends a file with range support, GET /hello
/// answers a small JSON body shaped like a search result.
/// </summary>
internal static class BaselineServer
{
    public const string Command = "baseline-server";
    public const string HelloPath = "/hello";
    public const string UploadPath = "/upload";
    /// <summary>The store with an fsync of the file before the answer, as the registry makes a blob durable before its 201.</summary>
    public const string DurableUploadPath = "/upload?fsync=true";
    public const string DrainPath = "/drain";
    public const string FilePathPrefix = "/file/";

    // Kestrel hands the body over in pieces of a few KiB; gathering them into blocks of the
    // Stream.CopyToAsync size keeps write syscalls (costly on this VM) from dominating.
    private const int CopyBufferSize = 81920;

    private static readonly HelloResponse Hello = new(
        NumPages: 1,
        NumResults: 3,
        Page: 1,
        PageSize: 25,
        Query: "bus",
        Results:
        [
            new HelloResult("", false, false, false, "library/busybox", 0),
            new HelloResult("", false, false, false, "team/busybox-extras", 0),
            new HelloResult("", false, false, false, "team/busybox-tools", 0),
        ]);

    public static async Task<int> RunAsync(string[] args)
    {
        var options = BenchArgs.Parse(args, ["--dir", "--urls"], []);
        var directory = options.GetString("--dir") ?? throw new BenchUsageException($"{Command} needs --dir");
        var urls = options.GetString("--urls") ?? throw new BenchUsageException($"{Command} needs --urls");
        Directory.CreateDirectory(directory);

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls(urls);
        // A layer has no size limit (Docker Registry HTTP API V1, 'Images'); the registry lifts Kestrel's 30 MB default too.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = null);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();

        app.MapGet(HelloPath, () => Results.Json(Hello));
        app.MapPut(UploadPath, (HttpRequest request, CancellationToken ct) => UploadAsync(directory, request, ct));
        app.MapPut(DrainPath, (HttpRequest request, CancellationToken ct) => DrainAsync(request, ct));
        app.MapGet(FilePathPrefix + "{name}", (string name) =>
            IsPlainFileName(name) && File.Exists(Path.Combine(directory, name))
                ? Results.File(Path.Combine(directory, name), "application/octet-stream", enableRangeProcessing: true)
                : Results.NotFound());

        await app.RunAsync();
        return 0;
    }

    /// <summary>Stores the body under its SHA-256 hex via temp file, flush and rename; returns the hex.</summary>
    private static async Task<IResult> UploadAsync(string directory, HttpRequest request, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(directory, $".upload-{Guid.NewGuid():N}");
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            await using (var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                BufferSize = 0,
            }))
            {
                int filled;
                while ((filled = await request.Body.ReadAtLeastAsync(
                           buffer.AsMemory(0, CopyBufferSize), CopyBufferSize, throwOnEndOfStream: false, cancellationToken)) > 0)
                {
                    sha256.AppendData(buffer, 0, filled);
                    await file.WriteAsync(buffer.AsMemory(0, filled), cancellationToken);
                }

                await file.FlushAsync(cancellationToken);
                // ?fsync=true: to disk before the answer, as the registry does before its 201.
                if (request.Query["fsync"] == "true") file.Flush(flushToDisk: true);
            }

            var hex = Convert.ToHexStringLower(sha256.GetHashAndReset());
            File.Move(temp, Path.Combine(directory, hex), overwrite: true);
            return Results.Text(hex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            File.Delete(temp);
        }
    }

    /// <summary>Reads the body straight from Kestrel's pipe, touching no byte; returns how many arrived.</summary>
    private static async Task<IResult> DrainAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var reader = request.BodyReader;
        long total = 0;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            total += read.Buffer.Length;
            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted) break;
        }

        return Results.Text(total.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static bool IsPlainFileName(string name) =>
        name.Length > 0 && name[0] != '.' && Path.GetFileName(name) == name;

    private sealed record HelloResponse(
        [property: JsonPropertyName("num_pages")] int NumPages,
        [property: JsonPropertyName("num_results")] int NumResults,
        [property: JsonPropertyName("page")] int Page,
        [property: JsonPropertyName("page_size")] int PageSize,
        [property: JsonPropertyName("query")] string Query,
        [property: JsonPropertyName("results")] IReadOnlyList<HelloResult> Results);

    private sealed record HelloResult(
        [property: JsonPropertyName("description")] string Description,
        [property: JsonPropertyName("is_automated")] bool IsAutomated,
        [property: JsonPropertyName("is_official")] bool IsOfficial,
        [property: JsonPropertyName("is_trusted")] bool IsTrusted,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("star_count")] int StarCount);
}
