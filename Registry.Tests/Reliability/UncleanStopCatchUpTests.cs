using System.Diagnostics;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Cluster;
using Registry.Tests.Support;

namespace Registry.Tests.Reliability;

/// <summary>
/// After an unclean stop the server serves at once and brings the search index up to storage in the background:
/// the writes a crash cut short between storage and the index (a repository gone, one new, a description changed)
/// are in search once the catch-up ends, and a clean stop only then drops the "running" marker.
/// </summary>
public class UncleanStopCatchUpTests
{
    [Test]
    public async Task Writes_cut_short_between_storage_and_the_index_are_caught_up_after_a_restart()
    {
        // The watch is off: only the catch-up can bring these changes in.
        await using var server = await RegistryProcess.StartAsync(
            new Dictionary<string, string?> { ["LOGLEVEL"] = "info", ["SEARCH_WATCH_INTERVAL"] = "0" });
        var id = V1Client.NewImageId();
        await server.Client.PushImageAsync(id, V1Client.RandomBytes(64));
        foreach (var repo in new[] { "crashed/kept", "crashed/removed" })
            (await server.Client.PutTagAsync(repo, "latest", id).ReadAsync()).Should().Be((200, "true"));
        (await Search(server)).Should().Be(ClusterTests.SearchBody("crashed", "crashed/kept", "crashed/removed"));

        await server.KillAsync();
        File.Exists(server.SearchDatabasePath + ".running").Should().BeTrue("a killed server leaves its marker");
        // What storage holds when the process died between each write's storage step and its index step.
        var repositories = Path.Combine(server.StoragePath, "repositories", "crashed");
        Directory.Delete(Path.Combine(repositories, "removed"), recursive: true);
        Directory.CreateDirectory(Path.Combine(repositories, "added"));
        File.Copy(Path.Combine(repositories, "kept", "tag_latest"), Path.Combine(repositories, "added", "tag_latest"));
        await File.WriteAllTextAsync(Path.Combine(repositories, "kept", "_description"), "described before the crash");

        await server.RestartAsync();
        var clock = Stopwatch.StartNew();
        var expected = ClusterTests.SearchBody("crashed", "crashed/added", "crashed/kept")
            .Replace("\"description\": \"\", \"is_automated\": false, \"is_official\": false, \"is_trusted\": false, \"name\": \"crashed/kept\"",
                "\"description\": \"described before the crash\", \"is_automated\": false, \"is_official\": false, \"is_trusted\": false, \"name\": \"crashed/kept\"");
        string body;
        while ((body = await Search(server)) != expected && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(100);
        body.Should().Be(expected);
        server.Output.Should().Contain("Search index caught up with storage after an unclean stop: 3 repositories synced");

        await server.StopAsync();
        File.Exists(server.SearchDatabasePath + ".running").Should().BeFalse("a clean stop after the catch-up drops the marker");
    }

    private static Task<string> Search(RegistryProcess server) => server.Client.GetStringAsync("/v1/search?q=crashed");
}
