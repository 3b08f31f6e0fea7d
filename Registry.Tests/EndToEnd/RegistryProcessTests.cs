using System.Net;
using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>The process harness itself: start, ping, crash, restart on the same storage, graceful stop.</summary>
[TestFixture]
[Category("e2e")]
public sealed class RegistryProcessTests
{
    [Test]
    public async Task Starts_on_loopback_and_answers_ping()
    {
        await using var registry = await RegistryProcess.StartAsync();

        registry.BaseAddress.Should().Be(new Uri($"http://127.0.0.1:{registry.Port}/"));
        registry.Environment["SETTINGS_FLAVOR"].Should().Be("dev");
        registry.Environment["STORAGE_PATH"].Should().Be(registry.StoragePath);
        registry.Environment["SQLALCHEMY_INDEX_DATABASE"].Should().Be("sqlite:///" + registry.SearchDatabasePath);
        registry.SearchDatabasePath.Should().StartWith("/");
        using var response = await registry.Client.GetAsync("v1/_ping");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        registry.Output.Should().Contain($"registry[{registry.Pid}]");
        var environ = (await File.ReadAllTextAsync($"/proc/{registry.Pid}/environ")).Split('\0');
        environ.Should().Contain(["SETTINGS_FLAVOR=dev", $"STORAGE_PATH={registry.StoragePath}", "REGISTRY_HOST=127.0.0.1", $"REGISTRY_PORT={registry.Port}"]);
    }

    [Test]
    public async Task Kill_then_restart_comes_back_on_the_same_port_and_storage()
    {
        await using var registry = await RegistryProcess.StartAsync(new Dictionary<string, string?> { ["SEARCH_BACKEND"] = "sqlalchemy" });
        var port = registry.Port;
        var firstPid = registry.Pid;
        var marker = Path.Combine(registry.StoragePath, "harness-marker");
        Directory.CreateDirectory(registry.StoragePath);
        await File.WriteAllTextAsync(marker, "kept");

        await registry.KillAsync();
        registry.HasExited.Should().BeTrue();
        await registry.RestartAsync();

        registry.Pid.Should().NotBe(firstPid);
        registry.Port.Should().Be(port);
        registry.Environment["SEARCH_BACKEND"].Should().Be("sqlalchemy");
        (await File.ReadAllTextAsync(marker)).Should().Be("kept");
        using var response = await registry.Client.GetAsync("v1/_ping");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    public async Task Stop_is_graceful_and_dispose_removes_the_temp_folder()
    {
        var registry = await RegistryProcess.StartAsync();
        var root = registry.RootDirectory;

        await registry.StopAsync();
        registry.HasExited.Should().BeTrue();
        registry.Output.Should().Contain("Application is shutting down...");
        registry.Output.Should().NotContain("SIGKILL");
        await registry.DisposeAsync();

        Directory.Exists(root).Should().BeFalse();
    }

    [Test]
    public async Task A_server_that_cannot_start_fails_fast_with_its_output()
    {
        // A missing startup hook makes the runtime abort before Main, whatever the server's code does.
        var environment = new Dictionary<string, string?> { ["DOTNET_STARTUP_HOOKS"] = "/nonexistent/hook.dll" };
        RegistryProcess? unexpected = null;
        string? message = null;
        try
        {
            unexpected = await RegistryProcess.StartAsync(environment);
        }
        catch (InvalidOperationException e)
        {
            message = e.Message;
        }
        finally
        {
            if (unexpected is not null)
            {
                await unexpected.DisposeAsync();
            }
        }

        message.Should().Contain("The registry exited with code").And.Contain("/nonexistent/hook.dll");
    }
}
