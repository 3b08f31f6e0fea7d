using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Storage;

namespace Registry.Tests.Storage;

[TestFixture]
public sealed class InMemoryStorageDriverTests : StorageDriverContract
{
    protected override IStorageDriver CreateDriver() => new InMemoryStorageDriver();

    [Test]
    public void Kind_is_inmemory() => Driver.Kind.Should().Be("inmemory");

    [Test]
    public async Task LastModified_comes_from_the_time_provider_and_survives_a_move()
    {
        var time = new FixedTimeProvider(new DateTimeOffset(2015, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var driver = new InMemoryStorageDriver(time);
        await driver.PutContentAsync("a", new byte[] { 1 }, None);
        time.Now = time.Now.AddHours(1);

        await driver.MoveAsync("a", "b", None);

        (await driver.LastModifiedAsync("b", None)).Should().Be(new DateTimeOffset(2015, 1, 2, 3, 4, 5, TimeSpan.Zero));
    }

    private sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
