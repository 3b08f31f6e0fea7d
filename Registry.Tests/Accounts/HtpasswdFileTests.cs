using FluentAssertions;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Tests.Support;

namespace Registry.Tests.Accounts;

/// <summary>The htpasswd file as concurrent requests read it.</summary>
public sealed class HtpasswdFileTests
{
    private const int Rounds = 200;
    private const int Readers = 8;

    [Test]
    public async Task Concurrent_first_lookups_all_see_the_users_of_the_file()
    {
        using var directory = new TempDirectory();
        var path = directory.File("htpasswd");
        // Many users make the first read take long enough for the other readers to arrive while it runs.
        await File.WriteAllLinesAsync(path, Enumerable.Range(0, 2000).Select(i => $"user{i}:$2y$10$abcdefghijklmnopqrstuv{i:D32}"));
        var misses = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var file = new HtpasswdFile(path);
            using var start = new Barrier(Readers);
            var readers = Enumerable.Range(0, Readers).Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return file.HashOf("user1999");
            }, TaskCreationOptions.LongRunning)).ToArray();
            misses += (await Task.WhenAll(readers)).Count(h => h is null);
        }
        misses.Should().Be(0, "a lookup that arrives while another request loads the file must wait for it, not see no users");
    }

    [Test]
    public async Task User_names_list_the_bcrypt_lines_and_follow_a_rewritten_file()
    {
        using var directory = new TempDirectory();
        var path = directory.File("htpasswd");
        await File.WriteAllLinesAsync(path, [HtpasswdFile.Line("zoe", "pw"), "# a comment", "", "plain:not-bcrypt", HtpasswdFile.Line("alice", "pw")]);
        var clock = new SteppingClock();
        var file = new HtpasswdFile(path, clock);

        file.UserNames().Should().Equal("alice", "zoe");
        await File.WriteAllLinesAsync(path, [HtpasswdFile.Line("bob", "pw"), HtpasswdFile.Line("alice", "pw"), HtpasswdFile.Line("carol", "pw")]);
        clock.Advance(TimeSpan.FromSeconds(2));
        file.UserNames().Should().Equal("alice", "bob", "carol");
        File.Delete(path);
        clock.Advance(TimeSpan.FromSeconds(2));
        file.UserNames().Should().BeEmpty("a missing file means no users");
    }

    /// <summary>A clock that moves only when told, so that the once-a-second re-check is not a matter of timing.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private long _timestamp = 1;

        public override long GetTimestamp() => _timestamp;

        public void Advance(TimeSpan by) => _timestamp += (long)(by.TotalSeconds * TimestampFrequency);
    }
}
