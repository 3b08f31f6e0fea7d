using FluentAssertions;
using NUnit.Framework;
using Registry.Tests.Support;

namespace Registry.Tests.V1;

public class ChecksumVectorTests
{
    [TestCase("", "sha256:01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b")]
    [TestCase("test", "sha256:f2ca1bb6c7e907d06dafe4687e579fce76b37e4e93b7605022da52e6ccc26fd2")]
    public void Payload_checksum_matches_the_spec_vectors(string json, string expected) =>
        V1Client.PayloadChecksum(json, []).Should().Be(expected);
}
