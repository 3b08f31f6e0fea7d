using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using FluentAssertions;
using NUnit.Framework;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core.Storage.Caching;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// <c>blob_cache_path</c> on a real S3 (Ceph RGW): a whole pull is sent from the store and then fills the cache in the
/// background with the blob's bytes read again (one fill for parallel pulls), later pulls (whole or ranged) are sent from it, a blob removed from the bucket behind the registry's back is not served from it, the
/// least recently pulled go when it is full, and a restart keeps what it holds. Whether a pull came from the cache is
/// shown by rewriting the stored object behind the registry's back: the cache still sends the bytes whose digest it checked.
/// </summary>
[TestFixture]
[Category("s3")]
public sealed class S3BlobCacheTests() : S3BucketTestBase("blob-cache")
{
    private const int BlobBytes = 200_000;

    private readonly List<string> _cacheDirs = [];

    [TearDown]
    public void RemoveCaches()
    {
        foreach (var dir in _cacheDirs.Where(Directory.Exists)) Directory.Delete(dir, recursive: true);
        _cacheDirs.Clear();
    }

    [Test]
    public async Task A_pulled_blob_is_sent_from_the_cache_until_the_bucket_loses_it()
    {
        var (prefix, cacheDir) = NewPlace();
        await using var registry = TestRegistry.Start(Environment(prefix, cacheDir, sizeMb: 16));
        var blob = RandomNumberGenerator.GetBytes(BlobBytes);
        var digest = await PushAsync(registry.Client, "team/app", blob);
        var cached = Entry(cacheDir, digest);

        using (var first = await registry.Client.GetAsync($"/v2/team/app/blobs/{digest}"))
        {
            ((int)first.StatusCode).Should().Be(200);
            (await first.Content.ReadAsByteArrayAsync()).Should().Equal(blob);
        }
        await WaitForFileAsync(cached);
        (await File.ReadAllBytesAsync(cached)).Should().Equal(blob);

        // The stored object rewritten behind the registry's back with other bytes of the same size: the cache answers.
        await PutObjectAsync(prefix, digest, RandomNumberGenerator.GetBytes(BlobBytes));
        using (var hit = await registry.Client.GetAsync($"/v2/team/app/blobs/{digest}"))
        {
            ((int)hit.StatusCode).Should().Be(200);
            hit.Header("Docker-Content-Digest").Should().Be(digest);
            hit.Content.Headers.ContentLength.Should().Be(BlobBytes);
            (await hit.Content.ReadAsByteArrayAsync()).Should().Equal(blob);
        }
        var range = new HttpRequestMessage(HttpMethod.Get, $"/v2/team/app/blobs/{digest}");
        range.Headers.TryAddWithoutValidation("Range", "bytes=1000-1999");
        using (var partial = await registry.Client.SendAsync(range))
        {
            ((int)partial.StatusCode).Should().Be(206);
            partial.Content.Headers.ContentRange!.ToString().Should().Be($"bytes 1000-1999/{BlobBytes}");
            (await partial.Content.ReadAsByteArrayAsync()).Should().Equal(blob[1000..2000]);
        }

        // Gone from the bucket (another instance's garbage collection): not found, and the entry is dropped.
        await S3.DeleteObjectAsync(Bucket, DataKey(prefix, digest));
        using (var gone = await registry.Client.GetAsync($"/v2/team/app/blobs/{digest}"))
        {
            ((int)gone.StatusCode).Should().Be(404);
            (await gone.Content.ReadAsStringAsync()).Should().Be(
                $"{{\"errors\":[{{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\",\"detail\":\"{digest}\"}}]}}");
        }
        File.Exists(cached).Should().BeFalse();
    }

    [Test]
    public async Task A_ranged_pull_does_not_fill_and_a_restart_keeps_the_cache()
    {
        var (prefix, cacheDir) = NewPlace();
        var blob = RandomNumberGenerator.GetBytes(BlobBytes);
        string digest;
        await using (var registry = TestRegistry.Start(Environment(prefix, cacheDir, sizeMb: 16)))
        {
            digest = await PushAsync(registry.Client, "team/app", blob);
            var range = new HttpRequestMessage(HttpMethod.Get, $"/v2/team/app/blobs/{digest}");
            range.Headers.TryAddWithoutValidation("Range", "bytes=0-99");
            using (var partial = await registry.Client.SendAsync(range))
                (await partial.Content.ReadAsByteArrayAsync()).Should().Equal(blob[..100]);
            (await registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{digest}")).Should().Equal(blob);
            await WaitForFileAsync(Entry(cacheDir, digest));
        }
        Directory.EnumerateFiles(Path.Combine(cacheDir, "sha256")).Should().ContainSingle("the ranged pull kept nothing");

        // A fill a crash interrupted leaves a temp file; the next start removes it and keeps the entry.
        await File.WriteAllBytesAsync(Path.Combine(cacheDir, "_tmp", "interrupted"), new byte[10]);
        await PutObjectAsync(prefix, digest, RandomNumberGenerator.GetBytes(BlobBytes));
        await using (var restarted = TestRegistry.Start(Environment(prefix, cacheDir, sizeMb: 16)))
            (await restarted.Client.GetByteArrayAsync($"/v2/team/app/blobs/{digest}")).Should().Equal(blob);
        Directory.EnumerateFileSystemEntries(Path.Combine(cacheDir, "_tmp")).Should().BeEmpty();
    }

    [Test]
    public async Task An_aborted_pull_and_stored_bytes_that_do_not_match_the_digest_keep_nothing()
    {
        var (prefix, cacheDir) = NewPlace();
        await using var registry = TestRegistry.Start(Environment(prefix, cacheDir, sizeMb: 256));

        // A pull the client stops after the headers (a blob larger than the socket buffers on the way).
        var large = await PushAsync(registry.Client, "team/app", RandomNumberGenerator.GetBytes(32 << 20));
        using (var aborted = await registry.Client.GetAsync($"/v2/team/app/blobs/{large}", HttpCompletionOption.ResponseHeadersRead))
            ((int)aborted.StatusCode).Should().Be(200);
        await WaitForNoFillAsync(registry, cacheDir, queued: 0);
        File.Exists(Entry(cacheDir, large)).Should().BeFalse();

        // The stored object rewritten behind the registry's back with other bytes of the same size: the pull sends
        // what the store has (the client's own digest check catches it), the cache keeps nothing.
        var blob = RandomNumberGenerator.GetBytes(BlobBytes);
        var digest = await PushAsync(registry.Client, "team/app", blob);
        var other = RandomNumberGenerator.GetBytes(BlobBytes);
        await PutObjectAsync(prefix, digest, other);
        var before = await PrometheusText.ScrapeAsync(registry.Client);
        (await registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{digest}")).Should().Equal(other);
        await WaitForNoFillAsync(registry, cacheDir, queued: 1);
        File.Exists(Entry(cacheDir, digest)).Should().BeFalse();
        Directory.EnumerateFiles(cacheDir, "*", SearchOption.AllDirectories).Should().BeEmpty();
        (await FillsAsync(registry, before)).Should().Be((0, 1, 0), "fills (kept, failed, dropped)");

        // The right bytes again: kept.
        await PutObjectAsync(prefix, digest, blob);
        (await registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{digest}")).Should().Equal(blob);
        await WaitForFileAsync(Entry(cacheDir, digest));
        (await File.ReadAllBytesAsync(Entry(cacheDir, digest))).Should().Equal(blob);
        await WaitForNoFillAsync(registry, cacheDir, queued: 2);
        (await FillsAsync(registry, before)).Should().Be((1, 1, 0), "fills (kept, failed, dropped)");
    }

    /// <summary>How far <c>registry_blob_cache_fills_total</c> moved since <paramref name="before"/>, by result, read from <c>/metrics</c>.</summary>
    private static async Task<(int Kept, int Failed, int Dropped)> FillsAsync(TestRegistry registry, PrometheusText before)
    {
        var after = await PrometheusText.ScrapeAsync(registry.Client);
        int Moved(string result)
        {
            const string name = "registry_blob_cache_fills_total";
            return (int)((after.Has(name, ("result", result)) ? after.Value(name, ("result", result)) : 0)
                - (before.Has(name, ("result", result)) ? before.Value(name, ("result", result)) : 0));
        }
        return (Moved("kept"), Moved("failed"), Moved("dropped"));
    }

    [TestCase(null)]
    [TestCase("/dev/shm")]
    public async Task Blobs_at_chunk_and_block_boundaries_are_kept_byte_exact(string? cacheParent)
    {
        // The fill hands its writer whole 1 MiB chunks and a last, shorter one (less than a 4 KiB block for some sizes);
        // the largest blob is stored in two multipart parts. On the test machine's root file system (ext4) and on tmpfs.
        if (cacheParent is not null && !Directory.Exists(cacheParent)) Assert.Ignore($"no {cacheParent} here");
        var (prefix, cacheDir) = NewPlace(cacheParent);
        await using var registry = TestRegistry.Start(Environment(prefix, cacheDir, sizeMb: 256));
        foreach (var size in new[] { 1, 4096, 1 << 20, (1 << 20) + 1, (2 << 20) + 4095, Registry.Core.Storage.S3StorageDriver.PartSize + 5000 })
        {
            var blob = RandomNumberGenerator.GetBytes(size);
            var digest = await PushAsync(registry.Client, "team/app", blob);

            (await registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{digest}")).Should().Equal(blob);

            await WaitForFileAsync(Entry(cacheDir, digest));
            (await File.ReadAllBytesAsync(Entry(cacheDir, digest))).Should().Equal(blob, $"a blob of {size} bytes");
        }
        await WaitForNoFillAsync(registry, cacheDir, queued: 6);
    }

    [Test]
    public async Task Parallel_first_pulls_of_one_blob_start_one_fill_and_a_stop_leaves_no_temp_file()
    {
        var (prefix, cacheDir) = NewPlace();
        var blob = RandomNumberGenerator.GetBytes(8 << 20);
        string digest;
        await using (var registry = TestRegistry.Start(Environment(prefix, cacheDir, sizeMb: 256)))
        {
            digest = await PushAsync(registry.Client, "team/app", blob);
            var pulls = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{digest}")));
            foreach (var pulled in pulls) pulled.Should().Equal(blob);
            await WaitForFileAsync(Entry(cacheDir, digest));
            (await File.ReadAllBytesAsync(Entry(cacheDir, digest))).Should().Equal(blob);
            Cache(registry).FillsQueued.Should().Be(1);

            // A fill the server's stop cuts short: whatever it reached, no temp file stays and nothing partial is kept.
            var second = RandomNumberGenerator.GetBytes(32 << 20);
            var secondDigest = await PushAsync(registry.Client, "team/app", second);
            (await registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{secondDigest}")).Should().Equal(second);
            await registry.StopAsync();
            Directory.EnumerateFileSystemEntries(Path.Combine(cacheDir, "_tmp")).Should().BeEmpty();
            if (File.Exists(Entry(cacheDir, secondDigest))) (await File.ReadAllBytesAsync(Entry(cacheDir, secondDigest))).Should().Equal(second);
        }
    }

    [Test]
    public async Task A_burst_of_first_pulls_queues_a_bounded_number_of_fills_and_drops_the_rest()
    {
        var (prefix, cacheDir) = NewPlace();
        await using var registry = TestRegistry.Start(Environment(prefix, cacheDir, sizeMb: 256));
        var cache = Cache(registry);
        var blobs = new List<(byte[] Bytes, string Digest)>();
        for (var i = 0; i < LocalBlobCache.QueueLength + 4; i++)
        {
            var bytes = RandomNumberGenerator.GetBytes(4096);
            blobs.Add((bytes, await PushAsync(registry.Client, "team/app", bytes)));
        }

        // Every fill worker held by a fill whose store read waits (blobs of their own, known only to the cache).
        var gate = new TaskCompletionSource();
        var held = 0;
        var holding = Enumerable.Range(0, BlobCacheFills.Concurrency).Select(_ => RandomNumberGenerator.GetBytes(100)).ToList();
        foreach (var bytes in holding)
            cache.RequestFill(Registry.Core.Distribution.Digest.Compute("sha256", bytes), bytes.Length, async _ =>
            {
                Interlocked.Increment(ref held);
                await gate.Task;
                return new MemoryStream(bytes);
            });
        for (var i = 0; i < 100 && Volatile.Read(ref held) < holding.Count; i++) await Task.Delay(50);
        held.Should().Be(holding.Count);

        // The pulls are answered from the store at once; the queue takes QueueLength fills and drops the others.
        var before = await PrometheusText.ScrapeAsync(registry.Client);
        foreach (var (bytes, digest) in blobs)
            (await registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{digest}")).Should().Equal(bytes);
        for (var i = 0; i < 100 && cache.FillsQueued + cache.FillsDropped < holding.Count + blobs.Count; i++) await Task.Delay(50);
        cache.FillsQueued.Should().Be(holding.Count + LocalBlobCache.QueueLength);
        cache.FillsDropped.Should().Be(4);
        (await FillsAsync(registry, before)).Should().Be((0, 0, 4), "fills (kept, failed, dropped)");

        gate.SetResult();
        await WaitForNoFillAsync(registry, cacheDir, queued: holding.Count + LocalBlobCache.QueueLength);
        blobs.Count(b => File.Exists(Entry(cacheDir, b.Digest))).Should().Be(LocalBlobCache.QueueLength);
        (await FillsAsync(registry, before)).Should().Be((holding.Count + LocalBlobCache.QueueLength, 0, 4), "fills (kept, failed, dropped)");
        var dropped = blobs.First(b => !File.Exists(Entry(cacheDir, b.Digest)));

        // A dropped fill is asked for again by the blob's next whole pull.
        (await registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{dropped.Digest}")).Should().Equal(dropped.Bytes);
        await WaitForFileAsync(Entry(cacheDir, dropped.Digest));
    }

    [Test]
    public async Task The_least_recently_pulled_blob_goes_when_the_cache_is_full()
    {
        // 1 MiB holds five blobs of 200,000 bytes; pulling a sixth drops the one pulled longest ago.
        var (prefix, cacheDir) = NewPlace();
        await using var registry = TestRegistry.Start(Environment(prefix, cacheDir, sizeMb: 1));
        var digests = new List<string>();
        for (var i = 0; i < 6; i++) digests.Add(await PushAsync(registry.Client, "team/app", RandomNumberGenerator.GetBytes(BlobBytes)));

        async Task PullAsync(int i)
        {
            (await registry.Client.GetByteArrayAsync($"/v2/team/app/blobs/{digests[i]}")).Length.Should().Be(BlobBytes);
            await WaitForFileAsync(Entry(cacheDir, digests[i]));
        }

        for (var i = 0; i < 5; i++) await PullAsync(i);
        await PullAsync(0);
        await PullAsync(5);

        // The entry goes right after the sixth is renamed into place, in the same background step.
        var entries = Path.Combine(cacheDir, "sha256");
        for (var i = 0; i < 100 && Directory.EnumerateFiles(entries).Count() > 5; i++) await Task.Delay(50);
        Directory.EnumerateFiles(Path.Combine(cacheDir, "sha256")).Select(Path.GetFileName).Should().BeEquivalentTo(
            new[] { 0, 2, 3, 4, 5 }.Select(i => digests[i][7..]));
    }

    private (string Prefix, string CacheDir) NewPlace(string? parent = null)
    {
        var cacheDir = Path.Combine(parent ?? Path.GetTempPath(), "blob-cache-" + Guid.NewGuid().ToString("N"));
        _cacheDirs.Add(cacheDir);
        return ("cache-" + Guid.NewGuid().ToString("N")[..8], cacheDir);
    }

    private Dictionary<string, string> Environment(string prefix, string cacheDir, int sizeMb) =>
        Rgw.RegistryEnvironment("s3", Bucket, "/" + prefix, ("BLOB_CACHE_PATH", cacheDir), ("BLOB_CACHE_SIZE_MB", sizeMb.ToString()));

    /// <summary>Where the cache keeps a blob (docs/configuration.md, 'Blob cache').</summary>
    private static string Entry(string cacheDir, string digest) => Path.Combine(cacheDir, "sha256", digest[7..]);

    private static string DataKey(string prefix, string digest) => $"{prefix}/docker/registry/v2/blobs/sha256/{digest[7..9]}/{digest[7..]}/data";

    private async Task PutObjectAsync(string prefix, string digest, byte[] bytes) =>
        await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = DataKey(prefix, digest), InputStream = new MemoryStream(bytes) });

    private static async Task<string> PushAsync(HttpClient client, string name, byte[] blob)
    {
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(blob));
        using var put = await client.PostAsync($"/v2/{name}/blobs/uploads/?digest={digest}", new ByteArrayContent(blob));
        put.StatusCode.Should().Be(HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
        return digest;
    }

    /// <summary>The cache renames a filled entry into place after the pull's last byte, in the background.</summary>
    private static async Task WaitForFileAsync(string path)
    {
        for (var i = 0; i < 100 && !File.Exists(path); i++) await Task.Delay(50);
        File.Exists(path).Should().BeTrue($"{path} should be cached");
    }

    /// <summary>
    /// Waits for <paramref name="queued"/> fills in all to have been asked for (after the pull's last byte) and to have
    /// ended; a fill's temp file goes when it is kept or dropped.
    /// </summary>
    private static async Task WaitForNoFillAsync(TestRegistry registry, string cacheDir, int queued)
    {
        var cache = Cache(registry);
        for (var i = 0; i < 100 && (cache.FillsQueued < queued || cache.FillsPending > 0); i++) await Task.Delay(50);
        cache.FillsQueued.Should().Be(queued);
        cache.FillsPending.Should().Be(0, "the fills should have ended");
        Directory.EnumerateFileSystemEntries(Path.Combine(cacheDir, "_tmp")).Should().BeEmpty();
    }

    private static LocalBlobCache Cache(TestRegistry registry) => registry.Services.GetRequiredService<LocalBlobCache>();
}
