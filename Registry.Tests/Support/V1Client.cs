using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FluentAssertions;

namespace Registry.Tests.Support;

/// <summary>Speaks the docker 1.x push sequence (Docker Registry and Index spec, 'Push') and builds test images.</summary>
public static class V1Client
{
    public static string NewImageId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static string ImageJson(string id, string? parent = null) =>
        parent is null
            ? $"{{\"id\":\"{id}\",\"created\":\"2014-10-01T00:00:00Z\",\"container_config\":{{\"Cmd\":null}}}}"
            : $"{{\"id\":\"{id}\",\"parent\":\"{parent}\",\"created\":\"2014-10-01T00:00:00Z\"}}";

    /// <summary><c>"sha256:" + hex(sha256(json ‖ "\n" ‖ layer))</c> (Docker Registry and Index spec, 'Checksum').</summary>
    public static string PayloadChecksum(string json, byte[] layer)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(json));
        hash.AppendData("\n"u8);
        hash.AppendData(layer);
        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient client, string id, string json) =>
        client.PutAsync($"/v1/images/{id}/json", new StringContent(json, Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PutLayerAsync(this HttpClient client, string id, byte[] layer)
    {
        var content = new StreamContent(new MemoryStream(layer));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return client.PutAsync($"/v1/images/{id}/layer", content);
    }

    public static Task<HttpResponseMessage> PutChecksumAsync(this HttpClient client, string id, string checksum)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/v1/images/{id}/checksum");
        request.Headers.Add("X-Docker-Checksum-Payload", checksum);
        request.Headers.Add("X-Docker-Checksum", "tarsum+sha256:0000");
        return client.SendAsync(request);
    }

    /// <summary>Uploads json, layer and checksum of one image and asserts each step answers 200 true.</summary>
    public static async Task<string> PushImageAsync(this HttpClient client, string id, byte[] layer, string? parent = null)
    {
        var json = ImageJson(id, parent);
        foreach (var response in new[]
                 {
                     await client.PutJsonAsync(id, json),
                     await client.PutLayerAsync(id, layer),
                     await client.PutChecksumAsync(id, PayloadChecksum(json, layer)),
                 })
        {
            ((int)response.StatusCode).Should().Be(200, await response.Content.ReadAsStringAsync());
            (await response.Content.ReadAsStringAsync()).Should().Be("true");
        }
        return json;
    }

    public static Task<HttpResponseMessage> PutTagAsync(this HttpClient client, string repo, string tag, string id) =>
        client.PutAsync($"/v1/repositories/{repo}/tags/{tag}", new StringContent($"\"{id}\"", Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PutIndexAsync(this HttpClient client, string path, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Docker-Token", "true");
        return client.SendAsync(request);
    }

    public static async Task<(int Status, string Body)> ReadAsync(this Task<HttpResponseMessage> pending)
    {
        using var response = await pending;
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public static string? Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues)
        : null;

    public static byte[] RandomBytes(int size) => RandomNumberGenerator.GetBytes(size);
}
