using System.Text;
using FluentAssertions;
using Microsoft.AspNetCore.Http;
using NUnit.Framework;
using Registry.V1.Hosting;

namespace Registry.Tests.Hosting;

/// <summary>The one choice between the V1 and the v2 error shape for errors the host writes itself.</summary>
public class HostErrorsTests
{
    private static async Task<(int Status, string Body)> WriteAsync(string path, Func<HttpContext, Task> write)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "GET";
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        await write(context);
        return (context.Response.StatusCode, Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray()));
    }

    [Test]
    public async Task V1_paths_get_the_V1_error_body() =>
        (await WriteAsync("/v1/images/abc/json", c => HostErrors.WriteAsync(c, 429, "Too many", "Too many")))
            .Should().Be((429, "{\"error\": \"Too many\"}"));

    [Test]
    public async Task V2_paths_get_the_error_envelope_with_the_code_for_the_status() =>
        (await WriteAsync("/v2/team/app/blobs/uploads/", c => HostErrors.WriteAsync(c, 429, "Too many", "Too many")))
            .Should().Be((429, "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"Too many\"}]}"));

    [Test]
    public async Task Status_pages_name_the_status_in_V1_and_use_the_code_message_in_v2()
    {
        (await WriteAsync("/v1/nothing", c => { c.Response.StatusCode = 404; return HostErrors.WriteStatusPageAsync(c); }))
            .Should().Be((404, "{\"error\": \"Not found\"}"));
        (await WriteAsync("/v2/nothing/here", c => { c.Response.StatusCode = 405; return HostErrors.WriteStatusPageAsync(c); }))
            .Body.Should().StartWith("{\"errors\":[{\"code\":\"UNSUPPORTED\"");
    }
}
