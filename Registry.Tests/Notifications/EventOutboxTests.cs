using System.Text;
using FluentAssertions;
using NUnit.Framework;
using Registry.Core.Configuration;
using Registry.Core.Notifications;

namespace Registry.Tests.Notifications;

/// <summary>The durable queue of one endpoint and the slot folders (docs/operating.md, 'Delivery: a durable outbox').</summary>
[TestFixture]
public sealed class EventOutboxTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("registry-outbox-").FullName;

    [TearDown]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Events_come_out_in_order_and_a_delivered_queue_is_emptied()
    {
        var outbox = new EventOutbox(_dir);
        outbox.Append(Event("a"));
        outbox.Append(Event("b"));

        var first = outbox.Peek()!.Value;
        first.Event!.Id.Should().Be("a");
        outbox.Peek()!.Value.Event!.Id.Should().Be("a", "peeking does not consume");
        outbox.Acknowledge(first.End);
        var second = outbox.Peek()!.Value;
        second.Event!.Id.Should().Be("b");
        File.ReadAllText(Path.Combine(_dir, "cursor")).Should().Be(first.End.ToString(System.Globalization.CultureInfo.InvariantCulture));
        outbox.Acknowledge(second.End);

        outbox.Peek().Should().BeNull();
        new FileInfo(Path.Combine(_dir, "events")).Length.Should().Be(0);
        File.ReadAllText(Path.Combine(_dir, "cursor")).Should().Be("0");
    }

    [Test]
    public void A_reopened_queue_resumes_at_the_cursor_and_drops_a_line_cut_short()
    {
        var outbox = new EventOutbox(_dir);
        outbox.Append(Event("a"));
        outbox.Append(Event("b"));
        outbox.Acknowledge(outbox.Peek()!.Value.End);
        File.AppendAllText(Path.Combine(_dir, "events"), "{\"id\":\"c\",\"timest");

        var reopened = new EventOutbox(_dir);
        reopened.PendingEvents.Should().Be(1, "only b is left; the cut line is gone");
        reopened.Append(Event("d"));

        var next = reopened.Peek()!.Value;
        next.Event!.Id.Should().Be("b");
        reopened.Acknowledge(next.End);
        reopened.PendingEvents.Should().Be(1);
        reopened.Peek()!.Value.Event!.Id.Should().Be("d");
    }

    [Test]
    public void A_cursor_past_the_end_after_a_crash_while_emptying_starts_over()
    {
        var outbox = new EventOutbox(_dir);
        outbox.Append(Event("a"));
        File.WriteAllText(Path.Combine(_dir, "cursor"), "999");

        new EventOutbox(_dir).Peek()!.Value.Event!.Id.Should().Be("a");
    }

    [Test]
    public void An_unreadable_line_is_returned_without_an_event_so_delivery_can_skip_it()
    {
        File.WriteAllText(Path.Combine(_dir, "events"), "not json\n");
        var outbox = new EventOutbox(_dir);

        var next = outbox.Peek()!.Value;

        next.Event.Should().BeNull();
        next.End.Should().Be(9);
    }

    [Test]
    public void Each_process_takes_its_own_slot_and_a_freed_slot_is_taken_again()
    {
        var settings = new NotificationSettings
        {
            OutboxPath = _dir,
            Endpoints = [new NotificationEndpoint { Name = "ci/hook é", Url = new Uri("http://ci.test/") }],
        };

        string third;
        using (var first = new OutboxDirectory(settings))
        using (var second = new OutboxDirectory(settings))
        {
            (first.Slot, second.Slot).Should().Be((Path.Combine(_dir, "0"), Path.Combine(_dir, "1")));
            first.Queues.Keys.Should().Equal("ci/hook é");
            Directory.Exists(Path.Combine(_dir, "0", "ci%2Fhook%20%C3%A9")).Should().BeTrue();
            first.Dispose();
            using var again = new OutboxDirectory(settings);
            third = again.Slot;
        }

        third.Should().Be(Path.Combine(_dir, "0"));
    }

    [Test]
    public void The_envelope_is_indented_as_gos_MarshalIndent_writes_it()
    {
        var body = Encoding.UTF8.GetString(EventEnvelope.Serialize([Event("a") with { Target = new EventTarget { Repository = "r", Tag = "t" } }]));

        body.Should().Be("""
            {
               "events": [
                  {
                     "id": "a",
                     "timestamp": "2026-12-06T08:38:21.4383770Z",
                     "action": "delete",
                     "target": {
                        "repository": "r",
                        "tag": "t"
                     },
                     "request": {
                        "id": "",
                        "method": "DELETE",
                        "useragent": ""
                     },
                     "actor": {},
                     "source": {
                        "addr": "host:5000",
                        "instanceID": "i"
                     }
                  }
               ]
            }
            """);
    }

    [TestCase(0L, "2024-12-16T16:00:00Z")]
    [TestCase(1_230L, "2024-12-16T16:00:00.000123Z")]
    [TestCase(1_234_567L, "2024-12-16T16:00:00.1234567Z")]
    public void Timestamps_drop_trailing_zeros_as_go_does(long ticks, string expected) =>
        RegistryEvent.FormatTimestamp(new DateTimeOffset(2024, 12, 16, 17, 0, 0, TimeSpan.FromHours(1)).AddTicks(ticks)).Should().Be(expected);

    private static RegistryEvent Event(string id) => new()
    {
        Id = id,
        Timestamp = "2026-12-06T08:38:21.4383770Z",
        Action = "delete",
        Target = new EventTarget(),
        Request = new EventRequest { Method = "DELETE" },
        Actor = new EventActor(),
        Source = new EventSource { Addr = "host:5000", InstanceId = "i" },
    };
}
