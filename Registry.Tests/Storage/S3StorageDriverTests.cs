using Amazon.S3;
using Amazon.S3.Model;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Storage;
using Registry.Tests.Support;

namespace Registry.Tests.Storage;

/// <summary>
/// The storage contract on a real S3 implementation (Ceph RGW): one bucket for the fixture, a fresh key prefix
/// per test. Plus what only an object store shows: multipart uploads, their abort, prefixes and presigned URLs.
/// </summary>
[TestFixture]
[Category("s3")]
public sealed class S3StorageDriverTests : StorageDriverContract
{
    private CephRgw _rgw = null!;
    private AmazonS3Client _client = null!;
    private string _bucket = null!;
    private string _prefix = null!;

    private S3StorageDriver S3 => (S3StorageDriver)Driver;

    [OneTimeSetUp]
    public async Task StartGatewayAsync()
    {
        _rgw = await CephRgw.SharedAsync();
        _client = _rgw.CreateClient();
        _bucket = await _rgw.CreateBucketAsync("contract");
    }

    [OneTimeTearDown]
    public void DisposeClient() => _client?.Dispose();

    protected override IStorageDriver CreateDriver()
    {
        _prefix = "t/" + Guid.NewGuid().ToString("N");
        return new S3StorageDriver(_rgw.Options(_bucket, "/" + _prefix + "/"));
    }

    protected override void DestroyDriver() => S3.Dispose();

    protected override void AssertNoTempData() => PendingUploads().Should().BeEmpty("every multipart upload was completed or aborted");

    private List<MultipartUpload> PendingUploads() =>
        _client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = _bucket, Prefix = _prefix + "/" })
            .GetAwaiter().GetResult().MultipartUploads ?? [];

    /// <summary>DeleteObjects in batches of at most 1000 keys, or (a store without it, GCS) a request per key.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task A_batch_delete_removes_the_named_objects_and_nothing_else(bool batchDelete)
    {
        using var driver = new S3StorageDriver(_rgw.Options(_bucket, "/" + _prefix + "/") with { BatchDelete = batchDelete });
        var many = Enumerable.Range(0, 1001).Select(i => $"images/m/{i:D4}").ToList();
        await Parallel.ForEachAsync(many, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (p, ct) => await driver.PutContentAsync(p, Utf8("m"), ct));
        await driver.PutContentAsync("images/a/json", Utf8("{}"), None);
        await driver.PutContentAsync("images/a/layer", Utf8("l"), None);
        await driver.PutContentAsync("images/a/deep/file", Utf8("d"), None);
        await driver.PutContentAsync("images/b/json", Utf8("{}"), None);

        await driver.DeleteObjectsAsync([.. many, "images/a/json", "images/a/deep/file", "images/gone/json"], None);

        (await driver.ExistsAsync("images/a/json", None)).Should().BeFalse();
        (await driver.ExistsAsync("images/a/deep/file", None)).Should().BeFalse();
        (await driver.ListAsync("images/m", None)).Should().BeEmpty();
        (await driver.GetContentAsync("images/a/layer", None)).Should().Equal(Utf8("l"));
        (await driver.GetContentAsync("images/b/json", None)).Should().Equal(Utf8("{}"));
        await driver.DeleteObjectsAsync([], None);
    }

    [Test]
    public async Task A_subtree_read_shows_keys_written_behind_the_driver_as_a_walk_would()
    {
        // A temp name (an in-flight write of another process) shows only as its directory; an object with keys below it
        // (which the driver never writes) is an object, not descended into, as SizeAsync answers for it.
        foreach (var key in new[] { "ns/b/" + StorageKey.TempPrefix + "1", "ns/c", "ns/c/under", "ns/d/e/" + StorageKey.TempPrefix + "2/f" })
            await _client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = _prefix + "/" + key, ContentBody = "x" });

        var entries = await S3.ReadSubtreeAsync("ns", 10, null, None);

        entries.Select(e => (e.Path, e.IsDirectory)).Should().Equal(("ns/b", true), ("ns/c", false), ("ns/d", true), ("ns/d/e", true));
        (await S3.ListTwoLevelsAsync("ns", None)).Should().BeEquivalentTo(
            new (string, IReadOnlyList<string>)[] { ("ns/b", []), ("ns/c", []), ("ns/d", ["ns/d/e"]) }, options => options.WithStrictOrdering());
        (await Driver.ListAsync("ns", None)).Should().Equal("ns/b", "ns/c", "ns/d");
        (await Driver.ListAsync("ns/b", None)).Should().BeEmpty();
    }

    private async Task<List<string>> RawKeysAsync()
    {
        var page = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix + "/" });
        return (page.S3Objects ?? []).Select(o => o.Key[(_prefix.Length + 1)..]).ToList();
    }

    [Test]
    public void Kind_is_s3() => Driver.Kind.Should().Be("s3");

    [Test]
    public async Task Objects_live_at_the_key_below_the_storage_path_prefix()
    {
        await Driver.PutContentAsync("images/abc/json", "{}"u8.ToArray(), None);

        (await RawKeysAsync()).Should().Equal("images/abc/json");
        using var raw = await _client.GetObjectAsync(_bucket, _prefix + "/images/abc/json");
        (await new StreamReader(raw.ResponseStream).ReadToEndAsync()).Should().Be("{}");
    }

    [TestCase("b/d", "b-x/c", "b/d/e")]
    [TestCase("a/b/d", "a/b-x/c", "a/b/d/e")]
    [TestCase("a/b", "a/b.x", "a/b/c/d")]
    public async Task A_driver_that_never_wrote_there_refuses_an_object_below_an_object_even_behind_a_sibling_key(
        string existing, string sibling, string below)
    {
        // Raw keys, as another registry instance left them: this driver knows none of their directories.
        foreach (var key in new[] { existing, sibling })
            await _client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = $"{_prefix}/{key}", ContentBody = "x" });

        var put = () => Driver.PutContentAsync(below, "y"u8.ToArray(), None);

        await put.Should().ThrowAsync<IOException>().WithMessage($"Storage path '{existing}' is an object");
        (await RawKeysAsync()).Should().BeEquivalentTo(existing, sibling);
    }

    [Test]
    public async Task A_large_stream_goes_up_in_parts_and_reads_back_exactly_with_ranges()
    {
        var data = TestData.Bytes(2 * S3StorageDriver.PartSize + 12_345, seed: 5);
        var seenUploads = 0;
        var source = new ChunkedStream(data, 64 * 1024)
        {
            // While the second part is being read, the first is in S3 as part of a pending upload.
            BeforeRead = sent => { if (sent == S3StorageDriver.PartSize + 65536) seenUploads = PendingUploads().Count; },
        };

        var written = await Driver.WriteStreamAsync("images/big/layer", source, None);

        written.Should().Be(data.Length);
        seenUploads.Should().Be(1);
        (await Driver.SizeAsync("images/big/layer", None)).Should().Be(data.Length);
        using var head = await _client.GetObjectAsync(_bucket, _prefix + "/images/big/layer");
        head.ETag.Should().EndWith("-3\"", "three parts: two full ones and the rest");
        var offset = S3StorageDriver.PartSize - 10;
        await using var reader = await Driver.OpenReadAsync("images/big/layer", offset, None);
        var tail = new MemoryStream();
        await reader!.CopyToAsync(tail);
        tail.ToArray().Should().Equal(data[offset..]);
        (await Driver.GetContentAsync("images/big/layer", None)).Should().Equal(data);
        AssertNoTempData();
    }

    [Test]
    public async Task A_stream_of_exactly_one_part_is_one_object_without_a_multipart_upload()
    {
        var data = TestData.Bytes(S3StorageDriver.PartSize, seed: 6);
        var uploadsWhileReading = 0;
        var source = new ChunkedStream(data, 64 * 1024)
        {
            // Reads past the part find its end; a multipart upload would be pending by then.
            BeforeRead = sent => { if (sent >= S3StorageDriver.PartSize) uploadsWhileReading = Math.Max(uploadsWhileReading, PendingUploads().Count); },
        };

        var written = await Driver.WriteStreamAsync("images/exact/layer", source, None);

        written.Should().Be(data.Length);
        uploadsWhileReading.Should().Be(0);
        using var head = await _client.GetObjectAsync(_bucket, _prefix + "/images/exact/layer");
        head.ETag.Should().NotContain("-", "a PutObject's ETag has no part count");
        (await Driver.GetContentAsync("images/exact/layer", None)).Should().Equal(data);
        AssertNoTempData();
    }

    [Test]
    public async Task A_declared_length_of_one_part_is_one_object_without_a_multipart_upload()
    {
        var data = TestData.Bytes(S3StorageDriver.PartSize, seed: 7);

        var written = await Driver.WriteStreamAsync("images/declared/layer", new ChunkedStream(data, 64 * 1024), data.Length, None);

        written.Should().Be(data.Length);
        using var head = await _client.GetObjectAsync(_bucket, _prefix + "/images/declared/layer");
        head.ETag.Should().NotContain("-", "a PutObject's ETag has no part count");
        (await Driver.GetContentAsync("images/declared/layer", None)).Should().Equal(data);
        AssertNoTempData();
    }

    [TestCase(1000, 999, 999)]
    [TestCase(1000, 1001, 1001)]
    [TestCase(S3StorageDriver.PartSize, S3StorageDriver.PartSize - 1, S3StorageDriver.PartSize - 1)]
    [TestCase(S3StorageDriver.PartSize - 1, S3StorageDriver.PartSize, S3StorageDriver.PartSize)]
    public async Task A_source_of_another_length_than_declared_publishes_nothing_and_says_how_much_it_read(int declared, int actual, long read)
    {
        var source = new ChunkedStream(TestData.Bytes(actual), 64 * 1024);

        var written = await Driver.WriteStreamAsync("images/short/layer", source, declared, None);

        written.Should().Be(read);
        (await RawKeysAsync()).Should().BeEmpty();
        AssertNoTempData();
    }

    [Test]
    public async Task A_declared_length_source_that_fails_throws_its_own_error_and_publishes_nothing()
    {
        var source = new ChunkedStream(TestData.Bytes(S3StorageDriver.PartSize), 64 * 1024)
        {
            BeforeRead = sent => { if (sent >= 1_000_000) throw new IOException("client reset"); },
        };

        var write = () => Driver.WriteStreamAsync("images/gone/layer", source, S3StorageDriver.PartSize, None);

        (await write.Should().ThrowExactlyAsync<IOException>()).Which.Message.Should().Be("client reset");
        (await RawKeysAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task A_declared_length_write_whose_caller_gives_up_at_the_last_byte_publishes_nothing()
    {
        using var cts = new CancellationTokenSource();
        var source = new ChunkedStream(TestData.Bytes(5000), 1000) { AtEnd = cts.Cancel };

        var write = () => Driver.WriteStreamAsync("k", source, 5000, cts.Token);

        await write.Should().ThrowAsync<OperationCanceledException>();
        (await Driver.ExistsAsync("k", None)).Should().BeFalse();
    }

    [Test]
    public async Task A_source_that_fails_after_some_parts_aborts_the_multipart_upload()
    {
        var source = new ChunkedStream(TestData.Bytes(3 * S3StorageDriver.PartSize), 256 * 1024)
        {
            BeforeRead = sent => { if (sent >= 2 * S3StorageDriver.PartSize + 100_000) throw new IOException("client reset"); },
        };

        var write = () => Driver.WriteStreamAsync("images/abc/layer", source, None);

        (await write.Should().ThrowAsync<IOException>()).Which.Message.Should().Be("client reset");
        (await RawKeysAsync()).Should().BeEmpty();
        AssertNoTempData();
    }

    [Test]
    public async Task A_cancelled_multipart_upload_is_aborted_and_publishes_nothing()
    {
        using var cts = new CancellationTokenSource();
        var source = new ChunkedStream(TestData.Bytes(2 * S3StorageDriver.PartSize), 256 * 1024)
        {
            BeforeRead = sent => { if (sent >= S3StorageDriver.PartSize + 1_000_000) cts.Cancel(); },
        };

        var write = () => Driver.WriteStreamAsync("k", source, cts.Token);

        await write.Should().ThrowAsync<OperationCanceledException>();
        (await Driver.ExistsAsync("k", None)).Should().BeFalse();
        AssertNoTempData();
    }

    [Test]
    public async Task CleanupTemp_aborts_only_uploads_older_than_an_hour()
    {
        // RGW stamps uploads with its own clock: a fresh upload must survive the clean-up.
        var fresh = await _client.InitiateMultipartUploadAsync(_bucket, _prefix + "/images/x/layer");

        await Driver.CleanupTempAsync(None);

        PendingUploads().Select(u => u.UploadId).Should().Equal(fresh.UploadId);
        await _client.AbortMultipartUploadAsync(_bucket, _prefix + "/images/x/layer", fresh.UploadId);
    }

    [Test]
    public async Task Deleting_a_prefix_with_more_than_one_listing_page_removes_every_object()
    {
        // 1,000 keys per listing page and per DeleteObjects call: 1,005 needs two of each.
        var keys = Enumerable.Range(0, 1005).Select(i => $"repositories/ns/repo/tag_{i:D4}").ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (key, ct) => await _client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = _prefix + "/" + key, ContentBody = "x" }, ct));
        await Driver.PutContentAsync("repositories/ns/other", "y"u8.ToArray(), None);

        (await Driver.ListAsync("repositories/ns/repo", None)).Should().HaveCount(1005);
        (await Driver.DeleteAsync("repositories/ns/repo", None)).Should().BeTrue();

        (await RawKeysAsync()).Should().Equal("repositories/ns/other");
    }

    [Test]
    public async Task Keys_no_driver_key_can_spell_are_not_listed()
    {
        foreach (var raw in new[] { "dir/ok", "dir/", "dir//double", "dir/back\\slash" })
            await _client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = _prefix + "/" + raw, ContentBody = "x" });

        (await Driver.ListAsync("dir", None)).Should().Equal("dir/ok");
    }

    [Test]
    public async Task A_presigned_url_serves_the_object_and_its_ranges_without_credentials()
    {
        var data = TestData.Bytes(10_000, seed: 3);
        await Driver.PutContentAsync("images/abc/layer", data, None);

        var url = await S3.GetDownloadUrlAsync("images/abc/layer", TimeSpan.FromMinutes(5), None);

        url.Should().NotBeNull();
        url!.GetLeftPart(UriPartial.Authority).Should().Be($"http://127.0.0.1:{_rgw.Port}");
        url.AbsolutePath.Should().Be($"/{_bucket}/{_prefix}/images/abc/layer");
        using var http = new HttpClient();
        (await http.GetByteArrayAsync(url)).Should().Equal(data);
        using var ranged = new HttpRequestMessage(HttpMethod.Get, url);
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 199);
        using var partial = await http.SendAsync(ranged);
        ((int)partial.StatusCode).Should().Be(206);
        (await partial.Content.ReadAsByteArrayAsync()).Should().Equal(data[100..200]);
        var tampered = new Uri(url.AbsoluteUri.Replace("/layer?", "/json?", StringComparison.Ordinal));
        using var forged = await http.GetAsync(tampered);
        ((int)forged.StatusCode).Should().Be(403);
    }

    [Test]
    public async Task Wrong_credentials_are_a_StorageUnavailableException_naming_the_error()
    {
        using var driver = new S3StorageDriver(_rgw.Options(_bucket, _prefix, secretKey: "wrong-secret"));

        var get = () => driver.GetContentAsync("images/abc/json", None);
        var put = () => driver.PutContentAsync("images/abc/json", "{}"u8.ToArray(), None);

        (await get.Should().ThrowAsync<StorageUnavailableException>()).Which.Message
            .Should().Be($"S3 GetObject of 'images/abc/json' in bucket '{_bucket}' failed: 403 SignatureDoesNotMatch: ");
        await put.Should().ThrowAsync<StorageUnavailableException>();
        (await RawKeysAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task A_missing_bucket_is_a_StorageUnavailableException()
    {
        using var driver = new S3StorageDriver(_rgw.Options("no-such-bucket-" + Guid.NewGuid().ToString("N")[..8], ""));

        var get = () => driver.GetContentAsync("images/abc/json", None);
        var list = () => driver.ListAsync("images", None);
        var write = () => driver.WriteStreamAsync("images/abc/layer", new MemoryStream(new byte[100]), None);

        (await get.Should().ThrowAsync<StorageUnavailableException>()).Which.Message.Should().Contain("404 NoSuchBucket");
        await list.Should().ThrowAsync<StorageUnavailableException>();
        await write.Should().ThrowAsync<StorageUnavailableException>();
        // Start-up must not fail over it: the clean-up is best effort.
        await driver.CleanupTempAsync(None);
    }

    [Test]
    public async Task An_unreachable_endpoint_is_a_StorageUnavailableException()
    {
        var options = _rgw.Options(_bucket, _prefix) with { Port = FreePort.Next() };
        using var client = new AmazonS3Client(
            new Amazon.Runtime.BasicAWSCredentials(CephRgw.AccessKey, CephRgw.SecretKey),
            WithoutRetries(S3StorageDriver.CreateClientConfig(options)));
        using var driver = new S3StorageDriver(client, options);

        var exists = () => driver.ExistsAsync("images/abc/json", None);

        await exists.Should().ThrowAsync<StorageUnavailableException>();
    }

    private static AmazonS3Config WithoutRetries(AmazonS3Config config)
    {
        config.MaxErrorRetry = 0;
        return config;
    }
}
