using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Distribution;

namespace Registry.Tests.Distribution;

public class DistributionGrammarTests
{
    private const string Hex64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [TestCase("sha256:" + Hex64, true)]
    [TestCase("sha512:" + Hex64 + Hex64, true)]
    [TestCase("sha384:" + Hex64 + "0123456789abcdef0123456789abcdef", true)]
    [TestCase("sha256:" + "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", false)]
    [TestCase("sha256:" + "e3b0", false)]
    [TestCase("sha512:" + Hex64, false)]
    [TestCase("md5:d41d8cd98f00b204e9800998ecf8427e", false)]
    [TestCase(Hex64, false)]
    [TestCase(":" + Hex64, false)]
    [TestCase("sha256:totallywrong", false)]
    [TestCase("sha256:../../../../etc/passwd", false)]
    [TestCase("", false)]
    public void Digests_parse_only_supported_algorithms_with_exact_lower_hex(string text, bool valid)
    {
        Digest.TryParse(text, out var digest).Should().Be(valid);
        if (valid) digest.ToString().Should().Be(text);
    }

    [Test]
    public void Compute_matches_the_well_known_empty_digest()
    {
        Digest.Compute("sha256", []).Should().Be(Digest.EmptySha256);
        Digest.Compute("sha256", "{}"u8).ToString().Should().Be("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    }

    [TestCase("hello-world", true)]
    [TestCase("a/b/c", true)]
    [TestCase("a.b_c__d---e/f", true)]
    [TestCase("a/blobs/b", true)]
    [TestCase("Hello", false)]
    [TestCase("a//b", false)]
    [TestCase("a/", false)]
    [TestCase("/a", false)]
    [TestCase("a___b", false)]
    [TestCase("a..b", false)]
    [TestCase("a/_b", false)]
    [TestCase("-a", false)]
    [TestCase("a-", false)]
    [TestCase("", false)]
    public void Names_follow_the_distribution_grammar(string name, bool valid)
    {
        DistributionName.IsValid(name).Should().Be(valid);
    }

    [Test]
    public void Names_stop_at_255_characters()
    {
        DistributionName.IsValid(new string('a', 255)).Should().BeTrue();
        DistributionName.IsValid(new string('a', 256)).Should().BeFalse();
    }

    [TestCase("latest", true)]
    [TestCase("_x", true)]
    [TestCase("1.0-rc_2", true)]
    [TestCase(".hidden", false)]
    [TestCase("-x", false)]
    [TestCase("a:b", false)]
    [TestCase("a/b", false)]
    [TestCase("", false)]
    public void Tags_follow_the_grammar(string tag, bool valid)
    {
        DistributionName.IsValidTag(tag).Should().Be(valid);
    }

    [Test]
    public void Tags_stop_at_128_characters()
    {
        DistributionName.IsValidTag(new string('t', 128)).Should().BeTrue();
        DistributionName.IsValidTag(new string('t', 129)).Should().BeFalse();
    }

    [Test]
    public void A_manifest_document_lists_config_layers_and_children_but_not_the_subject()
    {
        var config = "sha256:" + new string('1', 64);
        var layer = "sha256:" + new string('2', 64);
        var subject = "sha256:" + new string('3', 64);
        var json = $$$"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{{config}}}","size":2},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{{{layer}}}","size":3,"urls":["https://x/y"]}],
             "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{{{subject}}}","size":4}}
            """;
        var doc = ManifestDocument.TryParse(Encoding.UTF8.GetBytes(json))!;

        doc.MediaType.Should().Be(ManifestDocument.OciManifest);
        doc.IsIndex.Should().BeFalse();
        doc.References().Select(d => d.ToString()).Should().Equal(config, layer);
        doc.Layers[0].Urls.Should().Equal("https://x/y");
        doc.Subject!.DigestText.Should().Be(subject);
        doc.Properties.Should().BeEquivalentTo("schemaVersion", "mediaType", "config", "layers", "subject");
    }

    [TestCase("""{"schemaVersion":2,"manifests":[]}""", ManifestDocument.OciIndex)]
    [TestCase("""{"schemaVersion":2,"layers":[]}""", ManifestDocument.OciManifest)]
    [TestCase("""{"schemaVersion":1,"name":"x"}""", ManifestDocument.DockerV1Signed)]
    [TestCase("""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}""", ManifestDocument.DockerList)]
    public void The_media_type_of_a_stored_manifest_comes_from_its_body(string json, string mediaType)
    {
        ManifestDocument.TryParse(Encoding.UTF8.GetBytes(json))!.MediaType.Should().Be(mediaType);
    }

    [TestCase("not json")]
    [TestCase("[1,2]")]
    [TestCase("\"text\"")]
    public void Non_object_bodies_are_not_manifests(string body)
    {
        ManifestDocument.TryParse(Encoding.UTF8.GetBytes(body)).Should().BeNull();
    }
}
