using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Http;
using Registry.Tests.Support;
using Registry.Tests.V2;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// Downloads of objects larger than one file slice of the response (<see cref="ObjectBody.FileSegmentSize"/>) through a
/// real Kestrel: whole bodies and ranges that start and end inside different slices come back byte for byte.
/// </summary>
[Category("e2e")]
public class FileDownloadTests
{
    private static readonly int Size = 3 * ObjectBody.FileSegmentSize + 12345;

    [Test]
    public async Task Blob_and_layer_spanning_several_slices_come_back_whole_and_in_ranges()
    {
        await using var server = await RegistryProcess.StartAsync();
        var content = V1Client.RandomBytes(Size);
        var digest = await V2Blobs.PushAsync(server.Client, "big/blob", content);
        var id = V1Client.NewImageId();
        await server.Client.PushImageAsync(id, content);

        foreach (var path in new[] { $"/v2/big/blob/blobs/{digest}", $"/v1/images/{id}/layer" })
        {
            (await server.Client.GetByteArrayAsync(path)).Should().Equal(content, path);

            var first = ObjectBody.FileSegmentSize - 7;
            var last = 2 * ObjectBody.FileSegmentSize + 99;
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Range", $"bytes={first}-{last}");
            using var response = await server.Client.SendAsync(request);
            ((int)response.StatusCode).Should().Be(206, path);
            response.Content.Headers.ContentRange!.ToString().Should().Be($"bytes {first}-{last}/{Size}");
            response.Content.Headers.ContentLength.Should().Be(last - first + 1);
            (await response.Content.ReadAsByteArrayAsync()).Should().Equal(content[first..(last + 1)], path);
        }
    }
}
