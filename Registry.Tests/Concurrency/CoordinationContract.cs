using System.Net;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Concurrency;
using Registry.Core.Configuration;
using Registry.Core.Distribution;
using Registry.Index.Accounts;

namespace Registry.Tests.Concurrency;

/// <summary>
/// What every coordination backend guarantees, seen from two instances A and B on one storage (the in-process backend
/// is one process, so there A and B are the same objects): keyed locks serialize, the collector's exclusive side waits
/// for writers and keeps new ones out, touches recorded during a collection reach its sweep, failed logins count once.
/// </summary>
public abstract class CoordinationContract
{
    protected static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);
    protected static readonly TimeSpan Long = TimeSpan.FromSeconds(10);
    protected static readonly AuthSettings Auth = new() { MaxFailedLogins = 3, FailedLoginWindow = TimeSpan.FromMinutes(1) };

    protected record Instance(IKeyedLock Locks, IGcCoordinator Gc, ILoginThrottle Throttle);

    /// <summary>Two instances sharing the backend's state.</summary>
    protected abstract Task<(Instance A, Instance B)> CreateAsync();

    [Test]
    public async Task A_keyed_lock_held_on_one_instance_makes_the_other_wait_and_other_keys_do_not()
    {
        var (a, b) = await CreateAsync();
        var held = await a.Locks.AcquireAsync("team/app", CancellationToken.None);
        var waiting = b.Locks.AcquireAsync("team/app", CancellationToken.None);
        (await Task.WhenAny(waiting, Task.Delay(Short))).Should().NotBe(waiting, "A holds the key");
        await using (await b.Locks.AcquireAsync("team/other", CancellationToken.None).WaitAsync(Long))
        {
        }

        await held.DisposeAsync();
        await (await waiting.WaitAsync(Long)).DisposeAsync();
    }

    [Test]
    public async Task A_cancelled_wait_for_a_keyed_lock_leaves_the_key_usable()
    {
        var (a, b) = await CreateAsync();
        var held = await a.Locks.AcquireAsync("img", CancellationToken.None);
        using var cancel = new CancellationTokenSource(Short);
        var act = () => b.Locks.AcquireAsync("img", cancel.Token);
        await act.Should().ThrowAsync<OperationCanceledException>();

        await held.DisposeAsync();
        await (await b.Locks.AcquireAsync("img", CancellationToken.None).WaitAsync(Long)).DisposeAsync();
        await (await a.Locks.AcquireAsync("img", CancellationToken.None).WaitAsync(Long)).DisposeAsync();
    }

    [Test]
    public async Task A_sweep_waits_for_writers_of_every_instance_and_keeps_new_ones_out_until_its_batch_ends()
    {
        var (a, b) = await CreateAsync();
        var writer = await b.Gc.EnterWriteAsync(CancellationToken.None);
        var sweep = a.Gc.EnterSweepAsync(CancellationToken.None);
        (await Task.WhenAny(sweep, Task.Delay(Short))).Should().NotBe(sweep, "a writer on B is inside");

        var second = b.Gc.EnterWriteAsync(CancellationToken.None).AsTask();
        await writer.DisposeAsync();
        var batch = await sweep.WaitAsync(Long);
        (await Task.WhenAny(second, Task.Delay(Short))).Should().NotBe(second, "the sweep holds the exclusive side");
        await batch.DisposeAsync();
        await (await second.WaitAsync(Long)).DisposeAsync();
    }

    [Test]
    public async Task Touches_of_any_instance_during_a_collection_reach_its_next_sweep_batch_and_only_then()
    {
        var (a, b) = await CreateAsync();
        var digest = Digest.Compute("sha256", [1]);
        await using (await b.Gc.EnterWriteAsync(CancellationToken.None)) b.Gc.TouchImage("before");

        var collection = await a.Gc.BeginCollectionAsync(CancellationToken.None);
        collection.Should().NotBeNull();
        (await a.Gc.BeginCollectionAsync(CancellationToken.None)).Should().BeNull("one collection at a time per process");
        a.Gc.IsCollecting.Should().BeTrue();
        await using (await b.Gc.EnterWriteAsync(CancellationToken.None))
        {
            b.Gc.TouchImages(["aa", "bb"]);
            b.Gc.TouchDigest(digest);
        }

        await using (await a.Gc.EnterSweepAsync(CancellationToken.None))
        {
            a.Gc.IsImageTouched("bb").Should().BeTrue();
            a.Gc.IsDigestTouched(digest).Should().BeTrue();
            a.Gc.IsImageTouched("before").Should().BeFalse("touched before the collection began: its mark phase sees that write");
            a.Gc.IsImageTouched("cc").Should().BeFalse();
        }
        await collection!.DisposeAsync();
        a.Gc.IsCollecting.Should().BeFalse();
        a.Gc.IsImageTouched("bb").Should().BeFalse("the set is dropped with the collection");

        await using var next = await a.Gc.BeginCollectionAsync(CancellationToken.None);
        await using (await a.Gc.EnterSweepAsync(CancellationToken.None))
            a.Gc.IsImageTouched("bb").Should().BeFalse("a new collection starts with nothing touched");
    }

    [Test]
    public async Task Failed_logins_on_one_instance_count_on_the_other()
    {
        var (a, b) = await CreateAsync();
        var address = IPAddress.Parse("203.0.113.7");
        for (var i = 0; i < Auth.MaxFailedLogins - 1; i++) await a.Throttle.RecordFailureAsync(address, CancellationToken.None);
        (await b.Throttle.BlockedForAsync(address, CancellationToken.None)).Should().BeNull();

        await b.Throttle.RecordFailureAsync(address, CancellationToken.None);

        var blocked = await a.Throttle.BlockedForAsync(address, CancellationToken.None);
        blocked.Should().NotBeNull();
        blocked!.Value.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThanOrEqualTo(Auth.FailedLoginWindow);
        (await b.Throttle.BlockedForAsync(IPAddress.Parse("203.0.113.8"), CancellationToken.None)).Should().BeNull("another address");
    }
}

/// <summary>The default backend: one process.</summary>
public sealed class InProcessCoordinationTests : CoordinationContract
{
    protected override Task<(Instance A, Instance B)> CreateAsync()
    {
        var one = new Instance(new KeyedLock(), new GcCoordinator(), new LoginThrottle(Auth));
        return Task.FromResult((one, one));
    }
}
