using System.Text;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Registry.Index.Accounts;
using Registry.Index.Search;
using Registry.Tests.Support;

namespace Registry.Tests.Index;

/// <summary>The account and search services on their own, without HTTP: outcomes as values.</summary>
public class IndexServicesTests
{
    private TestRegistry _registry = null!;
    private TempDirectory _root = null!;

    [SetUp]
    public void SetUp()
    {
        _root = new TempDirectory();
        var htpasswd = _root.File("htpasswd");
        File.WriteAllText(htpasswd, HtpasswdFile.Line("alice", "alice-pw") + "\n" + HtpasswdFile.Line("root", "root-pw") + "\n");
        _registry = TestRegistry.Start(new Dictionary<string, string>
        {
            ["REGISTRY_AUTH"] = "htpasswd",
            ["REGISTRY_AUTH_HTPASSWD_PATH"] = htpasswd,
            ["REGISTRY_AUTH_SIGNUP"] = "true",
            ["REGISTRY_AUTH_ADMINS"] = "root",
        }, _root.Path);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _registry.DisposeAsync();
        _root.Dispose();
    }

    private UserService Users => _registry.Services.GetRequiredService<UserService>();

    [Test]
    public async Task Sign_up_checks_name_password_and_email_then_refuses_taken_names()
    {
        (await Users.SignUpAsync("X!", "pw123", "", default)).Should().Be(SignUpResult.InvalidUsername);
        (await Users.SignUpAsync("carol", "pw", "", default)).Should().Be(SignUpResult.InvalidPassword);
        (await Users.SignUpAsync("carol", "pw123", new string('e', 255), default)).Should().Be(SignUpResult.InvalidEmail);
        (await Users.SignUpAsync("alice", "pw123", "", default)).Should().Be(SignUpResult.AlreadyExists);
        (await Users.SignUpAsync("carol", "pw123", "", default)).Should().Be(SignUpResult.Created);
        (await Users.SignUpAsync("carol", "pw123", "", default)).Should().Be(SignUpResult.AlreadyExists);
    }

    [Test]
    public async Task An_account_is_changed_by_its_user_or_an_admin_only()
    {
        Users.MayChange(new Principal(PrincipalKind.User, "carol"), "carol").Should().BeTrue();
        Users.MayChange(new Principal(PrincipalKind.User, "root"), "carol").Should().BeTrue();
        Users.MayChange(new Principal(PrincipalKind.User, "alice"), "carol").Should().BeFalse();

        (await Users.UpdateAsync("carol", "new-pw", null, default)).Should().Be(UpdateAccountResult.NoSuchAccount);
        await Users.SignUpAsync("carol", "pw123", "", default);
        (await Users.UpdateAsync("carol", "pw", null, default)).Should().Be(UpdateAccountResult.InvalidPassword);
        (await Users.UpdateAsync("carol", "new-pw", null, default)).Should().Be(UpdateAccountResult.Updated);
    }

    [Test]
    public async Task Search_refuses_bad_queries_and_clamps_the_page()
    {
        var search = _registry.Services.GetRequiredService<SearchService>();
        var caller = new DefaultHttpContext();

        (await search.SearchAsync(caller, new string('a', SearchService.MaxQueryLength + 1), null, null, default)).Outcome
            .Should().Be(SearchOutcome.QueryTooLong);
        (await search.SearchAsync(caller, "a\0b", null, null, default)).Outcome.Should().Be(SearchOutcome.QueryHasNul);
        var found = await search.SearchAsync(caller, "nothing", 1000, -3, default);
        found.Should().BeEquivalentTo(new { Outcome = SearchOutcome.Found, PageSize = SearchService.MaxPageSize, PageNumber = 1 });
        found.Page!.Results.Should().BeEmpty();
        (await search.SearchAsync(caller, "nothing", null, null, default)).PageSize.Should().Be(SearchService.DefaultPageSize);
    }

    [Test]
    public async Task An_admin_searches_every_private_repository()
    {
        var privates = _registry.Services.GetRequiredService<IPrivateRepositories>();
        await privates.UpsertAsync("alice/secret", "hidden", default);
        var search = _registry.Services.GetRequiredService<SearchService>();

        (await search.SearchAsync(As("root", "root-pw"), "secret", null, null, default)).Page!.Results.Select(r => r.Name)
            .Should().Equal("alice/secret");
        await _registry.Services.GetRequiredService<UserService>().SignUpAsync("carol", "carol-pw", "", default);
        (await search.SearchAsync(As("carol", "carol-pw"), "secret", null, null, default)).Page!.Results.Should().BeEmpty();
    }

    private static DefaultHttpContext As(string user, string password)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        return context;
    }
}
