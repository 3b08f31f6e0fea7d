using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Registry.Bench.Http;

/// <summary>One timed transfer and the CPU time the server spent on it.</summary>
internal sealed record TransferResult(long Bytes, double Seconds, double ServerCpuSeconds)
{
    public double MegabytesPerSecond => Bytes / 1e6 / Seconds;

    /// <summary>Server CPU seconds per GiB moved: the cost side of the throughput figure.</summary>
    public double ServerCpuSecondsPerGib => ServerCpuSeconds / (Bytes / (double)(1L << 30));
}

/// <summary>An upload of a generated layer followed by its download, on one of the servers under test.</summary>
internal abstract class LayerTarget(ChildServer server, HttpClient client)
{
    private const int DrainBufferSize = 64 * 1024;

    public ChildServer Server { get; } = server;

    protected HttpClient Client { get; } = client;

    public abstract Task<(TransferResult Upload, TransferResult Download)> RoundTripAsync(
        long size, ulong seed, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="send"/> and reports its wall time and the server's CPU time.</summary>
    protected async Task<(T Value, double Seconds, double ServerCpuSeconds)> MeasureAsync<T>(Func<Task<T>> send)
    {
        var cpuBefore = Server.Sample().CpuTime;
        var started = Stopwatch.GetTimestamp();
        var value = await send();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpu = (Server.Sample().CpuTime - cpuBefore).TotalSeconds;
        return (value, seconds, cpu);
    }

    protected async Task<HttpResponseMessage> SendAsync(
        HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var what = $"{request.Method} {request.RequestUri}";
        try
        {
            return await Client.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ServerNotFunctionalException($"{Server.Name}: {what} failed: {e.Message}{ServerOutput()}");
        }
    }

    /// <summary>Throws a message naming the request, the status, the body and the request's label when the status is not 200.</summary>
    protected Task ExpectOkAsync(HttpResponseMessage response, string specSection, CancellationToken cancellationToken) =>
        ExpectStatusAsync(response, HttpStatusCode.OK, specSection, cancellationToken);

    /// <summary>Throws a message naming the request, the status, the body and the request's label when the status is not <paramref name="expected"/>.</summary>
    protected async Task ExpectStatusAsync(HttpResponseMessage response, HttpStatusCode expected, string specSection, CancellationToken cancellationToken)
    {
        if (response.StatusCode == expected)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (body.Length > 300)
        {
            body = body[..300] + "…";
        }

        throw new ServerNotFunctionalException(
            $"{Server.Name} is not functional: {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} " +
            $"answered {(int)response.StatusCode} {response.ReasonPhrase} '{body}', expected {(int)expected} (spec {specSection}).{ServerOutput()}");
    }

    /// <summary>GETs <paramref name="path"/> streaming the body into a small buffer that is discarded.</summary>
    protected async Task<TransferResult> DownloadAsync(string path, long expectedBytes, string specSection, CancellationToken cancellationToken)
    {
        var (bytes, seconds, cpu) = await MeasureAsync(async () =>
        {
            using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            await ExpectOkAsync(response, specSection, cancellationToken);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[DrainBufferSize];
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
            }

            return total;
        });
        if (bytes != expectedBytes)
        {
            throw new ServerNotFunctionalException(
                $"{Server.Name} is not functional: GET {path} returned {bytes} bytes, expected {expectedBytes}.{ServerOutput()}");
        }

        return new TransferResult(bytes, seconds, cpu);
    }

    private string ServerOutput()
    {
        var tail = Server.OutputTail;
        return tail.Length == 0 ? "" : $"{Environment.NewLine}last server output:{Environment.NewLine}{tail}";
    }
}

/// <summary>PUT /upload then GET /file/{sha256} on the bare-Kestrel baseline.</summary>
internal sealed class BaselineLayerTarget(ChildServer server, HttpClient client) : LayerTarget(server, client)
{
    public override async Task<(TransferResult Upload, TransferResult Download)> RoundTripAsync(
        long size, ulong seed, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var (stored, upSeconds, upCpu) = await MeasureAsync(async () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Put, BaselineServer.UploadPath) { Content = new LayerContent(size, seed, sha256) };
            request.Headers.TransferEncodingChunked = true;
            using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            await ExpectOkAsync(response, "baseline PUT /upload", cancellationToken);
            return await response.Content.ReadAsStringAsync(cancellationToken);
        });
        var sent = Convert.ToHexStringLower(sha256.GetHashAndReset());
        if (stored != sent)
        {
            throw new ServerNotFunctionalException($"{Server.Name} hashed the upload as {stored}, the client sent {sent}");
        }

        var download = await DownloadAsync(BaselineServer.FilePathPrefix + stored, size, "baseline GET /file", cancellationToken);
        return (new TransferResult(size, upSeconds, upCpu), download);
    }
}

/// <summary>
/// The registry's push and pull of one image (docs/client-behaviour.md, 'V1 standalone exchange'): PUT json, PUT layer (chunked, timed),
/// PUT checksum with the payload checksum computed while sending (Docker Registry and Index spec, 'Checksum'), then GET layer (timed).
/// </summary>
internal sealed class RegistryLayerTarget(ChildServer server, HttpClient client) : LayerTarget(server, client)
{
    public override async Task<(TransferResult Upload, TransferResult Download)> RoundTripAsync(
        long size, ulong seed, CancellationToken cancellationToken)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var json = Encoding.UTF8.GetBytes(
            $"{{\"id\": \"{id}\", \"created\": \"2014-10-13T21:19:18.674353812Z\", \"container_config\": " +
            $"{{\"Cmd\": [\"/bin/sh\", \"-c\", \"#(nop) ADD file in /\"]}}, \"docker_version\": \"1.3.0\", " +
            $"\"architecture\": \"amd64\", \"os\": \"linux\", \"Size\": {size}}}");
        var imagePath = $"/v1/images/{id}";

        var putJson = new HttpRequestMessage(HttpMethod.Put, imagePath + "/json") { Content = new ByteArrayContent(json) };
        putJson.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using (var response = await SendAsync(putJson, HttpCompletionOption.ResponseContentRead, cancellationToken))
        {
            await ExpectOkAsync(response, "PUT /v1/images/{id}/json", cancellationToken);
        }

        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha256.AppendData(json);
        sha256.AppendData("\n"u8);
        var (_, upSeconds, upCpu) = await MeasureAsync(async () =>
        {
            var putLayer = new HttpRequestMessage(HttpMethod.Put, imagePath + "/layer") { Content = new LayerContent(size, seed, sha256) };
            putLayer.Headers.TransferEncodingChunked = true;
            using var response = await SendAsync(putLayer, HttpCompletionOption.ResponseContentRead, cancellationToken);
            await ExpectOkAsync(response, "PUT /v1/images/{id}/layer", cancellationToken);
            return true;
        });

        var putChecksum = new HttpRequestMessage(HttpMethod.Put, imagePath + "/checksum");
        putChecksum.Headers.Add("X-Docker-Checksum-Payload", "sha256:" + Convert.ToHexStringLower(sha256.GetHashAndReset()));
        using (var response = await SendAsync(putChecksum, HttpCompletionOption.ResponseContentRead, cancellationToken))
        {
            await ExpectOkAsync(response, "PUT /v1/images/{id}/checksum with the payload checksum", cancellationToken);
        }

        var download = await DownloadAsync(imagePath + "/layer", size, "GET /v1/images/{id}/layer", cancellationToken);
        return (new TransferResult(size, upSeconds, upCpu), download);
    }
}

/// <summary>
/// The registry's v2 blob push and pull as docker 20.10 does it (docs/client-behaviour.md, 'docker push (v2)'): POST a session, PATCH the whole
/// layer chunked without Content-Range, PUT <c>?digest=</c> with an empty body (all three timed as the upload),
/// then GET the blob (timed).
/// </summary>
internal sealed class RegistryV2BlobTarget(ChildServer server, HttpClient client) : LayerTarget(server, client)
{
    private const string Repository = "bench/layer";

    public override async Task<(TransferResult Upload, TransferResult Download)> RoundTripAsync(
        long size, ulong seed, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var (digest, upSeconds, upCpu) = await MeasureAsync(async () =>
        {
            var post = new HttpRequestMessage(HttpMethod.Post, $"/v2/{Repository}/blobs/uploads/") { Content = new ByteArrayContent([]) };
            string location;
            using (var response = await SendAsync(post, HttpCompletionOption.ResponseContentRead, cancellationToken))
            {
                await ExpectStatusAsync(response, HttpStatusCode.Accepted, "POST /v2/<name>/blobs/uploads/", cancellationToken);
                location = response.Headers.Location!.OriginalString;
            }

            var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new LayerContent(size, seed, sha256) };
            patch.Headers.TransferEncodingChunked = true;
            using (var response = await SendAsync(patch, HttpCompletionOption.ResponseContentRead, cancellationToken))
            {
                await ExpectStatusAsync(response, HttpStatusCode.Accepted, "PATCH <upload URL>", cancellationToken);
                location = response.Headers.Location!.OriginalString;
            }

            var sent = "sha256:" + Convert.ToHexStringLower(sha256.GetHashAndReset());
            var separator = location.Contains('?') ? '&' : '?';
            var put = new HttpRequestMessage(HttpMethod.Put, $"{location}{separator}digest={Uri.EscapeDataString(sent)}") { Content = new ByteArrayContent([]) };
            using (var response = await SendAsync(put, HttpCompletionOption.ResponseContentRead, cancellationToken))
            {
                await ExpectStatusAsync(response, HttpStatusCode.Created, "PUT <upload URL>?digest=", cancellationToken);
            }

            return sent;
        });

        _lastBlob = ($"/v2/{Repository}/blobs/{digest}", size);
        var download = await DownloadAsync(_lastBlob.Path, size, "GET /v2/<name>/blobs/<digest>", cancellationToken);
        return (new TransferResult(size, upSeconds, upCpu), download);
    }

    private (string Path, long Size) _lastBlob;

    /// <summary>The blob of the last round trip pulled once more (timed), as a second host pulling the same layer does.</summary>
    public Task<TransferResult> DownloadAgainAsync(CancellationToken cancellationToken) =>
        DownloadAsync(_lastBlob.Path, _lastBlob.Size, "GET /v2/<name>/blobs/<digest>", cancellationToken);
}
