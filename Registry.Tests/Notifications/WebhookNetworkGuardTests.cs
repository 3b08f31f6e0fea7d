using System.Net;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Core.Notifications.Webhooks;
using Registry.Tests.Support;

namespace Registry.Tests.Notifications;

/// <summary>
/// The network guard of repository webhooks (docs/operating.md, 'Repository webhooks') through real connections to a
/// receiver on 127.0.0.1: refused by default, let through by <c>webhooks.allowed_networks</c>, redirects checked per hop.
/// </summary>
[TestFixture]
public sealed class WebhookNetworkGuardTests
{
    [Test]
    public async Task Loopback_is_refused_without_the_allow_list_and_reached_with_it()
    {
        await using var receiver = new EventReceiver();
        receiver.Start();

        using (var refused = new HttpClient(new WebhookNetworkGuard(new WebhookSettings()).CreateHandler()))
        {
            var act = () => refused.PostAsync(receiver.Url, new StringContent("{}"));
            var thrown = await act.Should().ThrowAsync<HttpRequestException>();
            WebhookRefusedException.Find(thrown.Which)!.Message.Should().Be("127.0.0.1 resolves to 127.0.0.1, which webhooks may not reach (webhooks.allowed_networks)");
        }
        receiver.Attempts.Should().BeEmpty();

        var allowed = new WebhookSettings { AllowedNetworks = [IPNetwork.Parse("127.0.0.0/8")] };
        using (var client = new HttpClient(new WebhookNetworkGuard(allowed).CreateHandler()))
        {
            (await client.PostAsync(receiver.Url, new StringContent("{\"a\":1}"))).StatusCode.Should().Be(HttpStatusCode.OK);
        }
        receiver.Accepted.Select(d => d.Body).Should().Equal("{\"a\":1}");
    }

    [Test]
    public async Task A_redirect_from_an_allowed_host_to_a_refused_address_is_refused()
    {
        // 127.0.0.1 is allowed; the redirect points at 127.0.0.2, which is not (nothing needs to listen there: the
        // guard refuses before connecting).
        var port = FreePort.Next();
        using var redirector = new HttpListener();
        redirector.Prefixes.Add($"http://127.0.0.1:{port}/");
        redirector.Start();
        var serve = Task.Run(async () =>
        {
            var context = await redirector.GetContextAsync();
            context.Response.StatusCode = 307;
            context.Response.RedirectLocation = $"http://127.0.0.2:{port}/inside";
            context.Response.Close();
        });
        var settings = new WebhookSettings { AllowedNetworks = [IPNetwork.Parse("127.0.0.1/32")] };
        using var client = new HttpClient(new WebhookNetworkGuard(settings).CreateHandler());

        var act = () => client.PostAsync($"http://127.0.0.1:{port}/hook", new StringContent("{}"));
        var thrown = await act.Should().ThrowAsync<HttpRequestException>();
        WebhookRefusedException.Find(thrown.Which)!.Message.Should().Be("127.0.0.2 resolves to 127.0.0.2, which webhooks may not reach (webhooks.allowed_networks)");
        await serve.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [TestCase("10.1.2.3", false)]
    [TestCase("172.31.0.1", false)]
    [TestCase("192.168.1.1", false)]
    [TestCase("100.64.0.1", false)]
    [TestCase("169.254.169.254", false)]
    [TestCase("0.0.0.0", false)]
    [TestCase("224.0.0.1", false)]
    [TestCase("::", false)]
    [TestCase("::1", false)]
    [TestCase("fd00::1", false)]
    [TestCase("fe80::1", false)]
    [TestCase("ff02::1", false)]
    [TestCase("::ffff:127.0.0.1", false)]
    [TestCase("93.184.216.34", true)]
    [TestCase("2606:2800:220:1::1", true)]
    public void Internal_addresses_are_refused_by_default(string address, bool allowed) =>
        new WebhookNetworkGuard(new WebhookSettings()).Allows(IPAddress.Parse(address)).Should().Be(allowed);
}
