using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Concurrency;
using Registry.Core.Distribution;

namespace Registry.Tests.Maintenance;

/// <summary>The coordinator's two sides and its touched set.</summary>
public class GcCoordinatorTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(200);

    [Test]
    public async Task Sweep_waits_for_writers_inside_and_keeps_new_ones_out_until_the_batch_ends()
    {
        IGcCoordinator gc = new GcCoordinator();
        var writer = await gc.EnterWriteAsync(CancellationToken.None);
        var sweep = gc.EnterSweepAsync(CancellationToken.None);
        (await Task.WhenAny(sweep, Task.Delay(Short))).Should().NotBe(sweep, "a writer is inside");

        var second = gc.EnterWriteAsync(CancellationToken.None).AsTask();
        await writer.DisposeAsync();
        var batch = await sweep.WaitAsync(TimeSpan.FromSeconds(5));
        (await Task.WhenAny(second, Task.Delay(Short))).Should().NotBe(second, "the sweep holds the exclusive side");
        await batch.DisposeAsync();
        await (await second.WaitAsync(TimeSpan.FromSeconds(5))).DisposeAsync();
    }

    [Test]
    public async Task Touches_count_only_during_a_collection_and_one_collection_at_a_time()
    {
        IGcCoordinator gc = new GcCoordinator();
        var digest = Digest.Compute("sha256", [1]);
        gc.TouchImage("aa");
        gc.TouchDigest(digest);
        gc.IsImageTouched("aa").Should().BeFalse();

        await using (var collection = await gc.BeginCollectionAsync(CancellationToken.None))
        {
            collection.Should().NotBeNull();
            (await gc.BeginCollectionAsync(CancellationToken.None)).Should().BeNull();
            gc.IsCollecting.Should().BeTrue();
            gc.TouchImages(["aa", "bb"]);
            gc.TouchDigest(digest);
            gc.IsImageTouched("bb").Should().BeTrue();
            gc.IsDigestTouched(digest).Should().BeTrue();
            gc.IsImageTouched("cc").Should().BeFalse();
        }
        gc.IsCollecting.Should().BeFalse();
        gc.IsImageTouched("bb").Should().BeFalse("the set is dropped with the collection");
    }
}
