using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Registry.Bench.Http;

namespace Registry.Bench.Maintenance;

/// <summary>
/// The seed's proof and the run's: a sample read back through the registry's HTTP API (so that the seeded layout is
/// the one the registry reads, and what the collector kept is still pullable), and a count on disk of what is left.
/// </summary>
internal static class GcChecks
{
    private const int Sample = 40;

    /// <summary>
    /// Starts the registry on the storage and pulls a sample of the kept V1 tags (tags, ancestry, json) and v2 tags
    /// (manifest by tag, every blob, digests checked); <paramref name="garbageReadable"/> says whether a garbage
    /// repository's layer link still serves its blob (true before the collection, false after). The registry runs on
    /// <paramref name="root"/>'s storage unless <paramref name="environment"/> points it elsewhere (an S3 flavor).
    /// </summary>
    public static async Task PullSampleAsync(
        string dll, string root, GcSeedResult seed, int chain, bool garbageReadable, CancellationToken ct, IReadOnlyDictionary<string, string>? environment = null)
    {
        var variables = new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["REGISTRY_GC_GRACE_SECONDS"] = "0" };
        await using var server = await ServerLauncher.StartRegistryAsync(dll, root, ct, variables);
        using var client = BenchPush.NewClient(server);
        foreach (var (repository, top) in Spread(seed.V1Tagged))
        {
            var tags = await GetJsonAsync(client, $"/v1/repositories/{repository}/tags", ct);
            if (tags.GetProperty("latest").GetString() != top) throw Fail($"V1 {repository}: tag latest is not {top}");
            var ancestry = await GetJsonAsync(client, $"/v1/images/{top}/ancestry", ct);
            if (ancestry.GetArrayLength() != chain) throw Fail($"V1 {top}: ancestry of {ancestry.GetArrayLength()} images, not {chain}");
            foreach (var id in ancestry.EnumerateArray()) await GetJsonAsync(client, $"/v1/images/{id.GetString()}/json", ct);
        }
        foreach (var (repository, manifest, blobs) in Spread(seed.V2Tagged))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/manifests/latest");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.docker.distribution.manifest.v2+json"));
            await ExpectDigestAsync(client, request, manifest, ct);
            foreach (var blob in blobs) await ExpectDigestAsync(client, new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/blobs/{blob}"), blob, ct);
        }
        // Garbage repositories with links left: "bench/v<g>/_layers/sha256/<hex>" → GET /v2/bench/v<g>/blobs/sha256:<hex>.
        foreach (var link in Spread(seed.V2GarbageLinks))
        {
            var parts = link.Replace('\\', '/').Split('/');
            var hex = parts[^1];
            var repository = $"{parts[^5]}/{parts[^4]}";
            using var response = await client.GetAsync($"/v2/{repository}/blobs/sha256:{hex}", ct);
            var expected = garbageReadable ? HttpStatusCode.OK : HttpStatusCode.NotFound;
            if (response.StatusCode != expected) throw Fail($"garbage blob sha256:{hex} of {repository}: {(int)response.StatusCode}, expected {(int)expected}");
        }
    }

    /// <summary>How many of the kept and of the garbage things are still on disk: (kept present, kept total, garbage present, garbage total).</summary>
    public static (int KeptPresent, int Kept, int GarbagePresent, int Garbage) CountV2(string storageRoot, GcSeedResult seed)
    {
        var kept = seed.V2Tagged.SelectMany(t => t.Blobs.Prepend(t.Manifest)).ToList();
        var keptPresent = kept.Count(d => File.Exists(Path.Combine(storageRoot, GcSeed.BlobDir(d), "data")));
        var garbagePresent = seed.V2GarbageBlobs.Count(d => Directory.Exists(Path.Combine(storageRoot, GcSeed.BlobDir(d))));
        return (keptPresent, kept.Count, garbagePresent, seed.V2GarbageBlobs.Count);
    }

    /// <summary>V1 images on disk: (kept present, kept total, garbage present, garbage total).</summary>
    public static (int KeptPresent, int Kept, int GarbagePresent, int Garbage) CountV1(string storageRoot, GcSeedResult seed)
    {
        var garbage = seed.V1GarbageImages.ToHashSet(StringComparer.Ordinal);
        var keptPresent = 0;
        var garbagePresent = 0;
        foreach (var dir in Directory.EnumerateDirectories(Path.Combine(storageRoot, "images")))
        {
            if (garbage.Contains(Path.GetFileName(dir))) garbagePresent++;
            else keptPresent++;
        }
        return (keptPresent, seed.V1Images - garbage.Count, garbagePresent, garbage.Count);
    }

    /// <summary>Links of garbage repositories still on disk.</summary>
    public static int CountGarbageLinks(string storageRoot, GcSeedResult seed) =>
        seed.V2GarbageLinks.Count(l => Directory.Exists(Path.Combine(storageRoot, l)));

    private static IEnumerable<T> Spread<T>(IReadOnlyList<T> items)
    {
        if (items.Count == 0) yield break;
        var step = Math.Max(1, items.Count / Sample);
        for (var i = 0; i < items.Count; i += step) yield return items[i];
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient client, string path, CancellationToken ct)
    {
        using var response = await client.GetAsync(path, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode != HttpStatusCode.OK) throw Fail($"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task ExpectDigestAsync(HttpClient client, HttpRequestMessage request, string digest, CancellationToken ct)
    {
        using (request)
        using (var response = await client.SendAsync(request, ct))
        {
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            if (response.StatusCode != HttpStatusCode.OK) throw Fail($"{request.Method} {request.RequestUri}: {(int)response.StatusCode}");
            var actual = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
            if (actual != digest) throw Fail($"{request.Method} {request.RequestUri}: body digest {actual}, expected {digest}");
        }
    }

    private static ServerNotFunctionalException Fail(string message) => new("check failed: " + message);
}
