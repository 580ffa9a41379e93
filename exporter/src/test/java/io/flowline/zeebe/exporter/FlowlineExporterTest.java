package io.flowline.zeebe.exporter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.camunda.zeebe.exporter.api.ExporterException;
import io.camunda.zeebe.protocol.record.RecordType;
import io.camunda.zeebe.protocol.record.ValueType;
import io.flowline.zeebe.exporter.Fakes.FakeContext;
import io.flowline.zeebe.exporter.Fakes.FakeController;
import io.flowline.zeebe.exporter.Fakes.FakeIngest;
import io.flowline.zeebe.exporter.Fakes.JsonRecord;
import io.flowline.zeebe.exporter.Fakes.Reply;
import io.flowline.zeebe.exporter.Fakes.Request;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.event.Level;

class FlowlineExporterTest {

  private FakeIngest ingest;
  private FakeController controller;
  private FakeContext context;
  private FlowlineExporter exporter;
  private List<JsonRecord> p1;

  @BeforeEach
  void setUp() throws Exception {
    ingest = new FakeIngest();
    controller = new FakeController();
    p1 = Fakes.fixture("partition1.ndjson");
  }

  @AfterEach
  void tearDown() {
    ingest.close();
  }

  private Map<String, Object> args(final Object... kv) {
    final Map<String, Object> m = new HashMap<>();
    m.put("url", ingest.url());
    m.put("token", "secret");
    m.put("retryDelay", "50ms");
    m.put("maxRetryDelay", "200ms");
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private void start(final Map<String, Object> args) throws Exception {
    context = new FakeContext(1, args);
    exporter = new FlowlineExporter();
    exporter.configure(context);
    exporter.open(controller);
  }

  /** Exports the record again (as the broker does after export threw) until it does not throw. */
  private int exportUntilAccepted(final JsonRecord r) throws InterruptedException {
    final long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    int failures = 0;
    while (true) {
      try {
        exporter.export(r);
        return failures;
      } catch (ExporterException e) {
        failures++;
        assertTrue(System.nanoTime() < deadline, "not accepted in time: " + e.getMessage());
        Thread.sleep(10);
      }
    }
  }

  private static List<String> jsons(final List<JsonRecord> rs) {
    return rs.stream().map(JsonRecord::toJson).toList();
  }

  /** The sum of the counters of name for partition 1 (over their other tags). */
  private double counter(final String name) {
    return context.registry.get(name).tag("partition", "1").counters().stream()
        .mapToDouble(io.micrometer.core.instrument.Counter::count)
        .sum();
  }

  /** Every line logged, and every message of ExporterExceptions thrown, joined. */
  private String everythingSaid(final List<String> thrown) {
    final StringBuilder b = new StringBuilder();
    for (final CapturingLogger.Line l : context.logger.lines) {
      b.append(l.message()).append('\n');
    }
    thrown.forEach(m -> b.append(m).append('\n'));
    return b.toString();
  }

  @Test
  void fixtureRecordsMatchTheirJson() throws Exception {
    assertEquals(1, p1.get(0).getPartitionId());
    assertEquals(1, p1.get(0).getPosition());
    assertEquals(ValueType.PROCESS, p1.get(0).getValueType());
    assertEquals(RecordType.EVENT, p1.get(0).getRecordType());
    final List<JsonRecord> p2 = Fakes.fixture("partition2.ndjson");
    assertTrue(p2.stream().allMatch(r -> r.getPartitionId() == 2));
    for (int i = 1; i < p1.size(); i++) {
      assertTrue(p1.get(i).getPosition() > p1.get(i - 1).getPosition());
    }
  }

  @Test
  void batchesByCountAndAcknowledgesTheLastPositionOfEachBatch() throws Exception {
    start(args("maxBatchRecords", 10));
    for (final JsonRecord r : p1.subList(0, 25)) {
      exporter.export(r);
    }
    final List<Request> reqs = ingest.requests();
    assertEquals(2, reqs.size());
    assertEquals(jsons(p1.subList(0, 10)), reqs.get(0).lines());
    assertEquals(jsons(p1.subList(10, 20)), reqs.get(1).lines());
    assertEquals(List.of(p1.get(9).getPosition(), p1.get(19).getPosition()), controller.updates);
    final Request q = reqs.get(0);
    assertEquals("application/x-ndjson", q.header("Content-type"));
    assertEquals("gzip", q.header("Content-encoding"));
    assertEquals("Bearer secret", q.header("Authorization"));
    assertEquals(20, counter("flowline.exporter.records.sent"));
    assertEquals(2, counter("flowline.exporter.batches"));
    assertEquals(
        p1.get(19).getPosition(),
        context.registry.get("flowline.exporter.last.acknowledged.position").tag("partition", "1").gauge().value());
    assertEquals(2, context.registry.get("flowline.exporter.flush.latency").timer().count());
  }

  @Test
  void batchesByBytes() throws Exception {
    start(args("maxBatchBytes", 8192, "gzip", false));
    for (final JsonRecord r : p1) {
      exporter.export(r);
    }
    exporter.close();
    final List<String> sent = new ArrayList<>();
    final List<Request> reqs = ingest.requests();
    assertTrue(reqs.size() > 2, "expected several batches, got " + reqs.size());
    for (final Request q : reqs) {
      assertEquals(null, q.header("Content-encoding"));
      final int bytes = q.lines().stream().mapToInt(l -> l.length() + 1).sum();
      assertTrue(q.lines().size() == 1 || bytes <= 8192, "batch of " + bytes + " bytes");
      sent.addAll(q.lines());
    }
    assertEquals(jsons(p1), sent);
    assertEquals(p1.get(p1.size() - 1).getPosition(), controller.lastPosition);
  }

  @Test
  void flushesAfterTheDelayFromTheScheduledTask() throws Exception {
    start(args("flushDelay", "2s"));
    assertEquals(Duration.ofSeconds(2), controller.pending().delay);
    for (final JsonRecord r : p1.subList(0, 3)) {
      exporter.export(r);
    }
    assertEquals(0, ingest.requests().size());
    assertTrue(controller.updates.isEmpty());
    controller.runScheduled();
    assertEquals(1, ingest.requests().size());
    assertEquals(jsons(p1.subList(0, 3)), ingest.requests().get(0).lines());
    assertEquals(List.of(p1.get(2).getPosition()), controller.updates);
    // re-scheduled, and an idle run sends nothing
    controller.runScheduled();
    assertEquals(1, ingest.requests().size());
    assertEquals(Duration.ofSeconds(2), controller.pending().delay);
  }

  @Test
  void retriesOn429HonouringRetryAfterWithoutResendingEarly() throws Exception {
    start(args("maxBatchRecords", 5, "maxRetryDelay", "2s")); // Retry-After is honoured up to maxRetryDelay
    ingest.reply(new Reply(429, "{\"error\":\"busy\"}", Map.of("Retry-After", "1")));
    for (final JsonRecord r : p1.subList(0, 4)) {
      exporter.export(r);
    }
    final JsonRecord fifth = p1.get(4);
    assertThrows(ExporterException.class, () -> exporter.export(fifth));
    assertTrue(controller.updates.isEmpty());
    // the broker retries the same record: nothing sent before Retry-After, nothing buffered twice
    for (int i = 0; i < 5; i++) {
      assertThrows(ExporterException.class, () -> exporter.export(fifth));
      Thread.sleep(50);
    }
    assertEquals(1, ingest.requests().size());
    exportUntilAccepted(fifth);
    final List<Request> reqs = ingest.requests();
    assertEquals(2, reqs.size());
    assertTrue(reqs.get(1).nanoTime() - reqs.get(0).nanoTime() >= Duration.ofMillis(950).toNanos());
    assertEquals(jsons(p1.subList(0, 5)), reqs.get(1).lines());
    assertEquals(List.of(fifth.getPosition()), controller.updates);
    assertEquals(1, counter("flowline.exporter.retries"));
  }

  @Test
  void retriesOn503() throws Exception {
    start(args("maxBatchRecords", 3));
    ingest.reply(Reply.of(503, "{\"error\":\"not connected to JetStream yet; retry\"}"));
    ingest.reply(Reply.of(500, "{\"error\":\"boom\"}"));
    exporter.export(p1.get(0));
    exporter.export(p1.get(1));
    assertThrows(ExporterException.class, () -> exporter.export(p1.get(2)));
    assertTrue(controller.updates.isEmpty());
    exportUntilAccepted(p1.get(2));
    final List<Request> reqs = ingest.requests();
    assertEquals(3, reqs.size());
    for (final Request q : reqs) {
      assertEquals(jsons(p1.subList(0, 3)), q.lines());
    }
    assertEquals(List.of(p1.get(2).getPosition()), controller.updates);
  }

  @Test
  void retriesWhileIngestIsUnreachable() throws Exception {
    final int port = ingest.port();
    ingest.close();
    start(args("url", "http://127.0.0.1:" + port + "/v1/records", "maxBatchRecords", 2));
    exporter.export(p1.get(0));
    assertThrows(ExporterException.class, () -> exporter.export(p1.get(1)));
    assertThrows(ExporterException.class, () -> {
      Thread.sleep(250);
      exporter.export(p1.get(1));
    });
    assertTrue(controller.updates.isEmpty());
    assertEquals(2, context.logger.at(Level.WARN).size());
    assertTrue(context.logger.at(Level.ERROR).isEmpty());
    ingest = new FakeIngest(port);
    exportUntilAccepted(p1.get(1));
    assertEquals(1, ingest.requests().size());
    assertEquals(jsons(p1.subList(0, 2)), ingest.requests().get(0).lines());
    assertEquals(List.of(p1.get(1).getPosition()), controller.updates);
  }

  @Test
  void badRequestIsRetriedNeverSkipped() throws Exception {
    start(args("maxBatchRecords", 4));
    ingest.reply(Reply.of(400, "{\"error\":\"line 2: not a Zeebe record\"}"));
    ingest.reply(Reply.of(400, "{\"error\":\"line 2: not a Zeebe record\"}"));
    for (final JsonRecord r : p1.subList(0, 3)) {
      exporter.export(r);
    }
    assertThrows(ExporterException.class, () -> exporter.export(p1.get(3)));
    final int failures = exportUntilAccepted(p1.get(3));
    assertTrue(failures >= 1);
    assertEquals(2, context.logger.at(Level.ERROR).size());
    assertTrue(context.logger.at(Level.ERROR).get(0).message().contains("line 2: not a Zeebe record"));
    final List<Request> reqs = ingest.requests();
    assertEquals(3, reqs.size());
    for (final Request q : reqs) {
      assertEquals(jsons(p1.subList(0, 4)), q.lines());
    }
    assertEquals(List.of(p1.get(3).getPosition()), controller.updates);
    exporter.export(p1.get(4));
    assertEquals(3, ingest.requests().size());
  }

  @Test
  void splits413InHalvesInOrder() throws Exception {
    start(args("maxBatchRecords", 10));
    ingest.maxRecords = 4;
    for (final JsonRecord r : p1.subList(0, 10)) {
      exporter.export(r);
    }
    final List<String> accepted = new ArrayList<>();
    final List<Integer> sizes = new ArrayList<>();
    for (final Request q : ingest.requests()) {
      sizes.add(q.lines().size());
      if (q.lines().size() <= 4) {
        accepted.addAll(q.lines());
      }
    }
    assertEquals(List.of(10, 5, 3, 2, 5, 3, 2), sizes);
    assertEquals(jsons(p1.subList(0, 10)), accepted);
    assertEquals(
        List.of(p1.get(2).getPosition(), p1.get(4).getPosition(), p1.get(7).getPosition(), p1.get(9).getPosition()),
        controller.updates);
  }

  @Test
  void singleRecordRefusedAs413IsRetriedNotDropped() throws Exception {
    start(args("maxBatchRecords", 1));
    ingest.reply(Reply.of(413, "{\"error\":\"record too large\"}"));
    assertThrows(ExporterException.class, () -> exporter.export(p1.get(0)));
    assertTrue(controller.updates.isEmpty());
    exportUntilAccepted(p1.get(0));
    assertEquals(2, ingest.requests().size());
    assertEquals(List.of(p1.get(0).getPosition()), controller.updates);
  }

  @Test
  void closeFlushesAndCancelsTheTask() throws Exception {
    start(args());
    for (final JsonRecord r : p1.subList(0, 7)) {
      exporter.export(r);
    }
    assertEquals(0, ingest.requests().size());
    final FakeController.Task task = controller.pending();
    exporter.close();
    assertTrue(task.canceled);
    assertEquals(1, ingest.requests().size());
    assertEquals(jsons(p1.subList(0, 7)), ingest.requests().get(0).lines());
    assertEquals(List.of(p1.get(6).getPosition()), controller.updates);
  }

  @Test
  void filteredTypesAreNotSent() throws Exception {
    start(args("valueTypes", "process_instance"));
    assertFalse(context.filter.acceptValue(ValueType.JOB));
    assertTrue(context.filter.acceptValue(ValueType.PROCESS_INSTANCE));
    assertTrue(context.filter.acceptType(RecordType.EVENT));
    assertFalse(context.filter.acceptType(RecordType.COMMAND));
    for (final JsonRecord r : p1) {
      exporter.export(r);
    }
    exporter.close();
    final List<JsonRecord> expected =
        p1.stream().filter(r -> r.getValueType() == ValueType.PROCESS_INSTANCE).toList();
    assertTrue(expected.size() < p1.size());
    assertEquals(1, ingest.requests().size());
    assertEquals(jsons(expected), ingest.requests().get(0).lines());
  }

  @Test
  void defaultFilterIsWhatTheAggregatorReads() throws Exception {
    start(args());
    for (final ValueType t :
        List.of(
            ValueType.PROCESS_INSTANCE, ValueType.PROCESS, ValueType.DECISION_REQUIREMENTS, ValueType.DECISION,
            ValueType.FORM, ValueType.VARIABLE, ValueType.INCIDENT, ValueType.JOB, ValueType.USER_TASK,
            ValueType.DECISION_EVALUATION)) {
      assertTrue(context.filter.acceptValue(t), t.name());
    }
    assertFalse(context.filter.acceptValue(ValueType.DEPLOYMENT));
    assertFalse(context.filter.acceptValue(ValueType.MESSAGE));
    assertTrue(context.filter.acceptType(RecordType.EVENT));
    assertFalse(context.filter.acceptType(RecordType.COMMAND));
    assertFalse(context.filter.acceptType(RecordType.COMMAND_REJECTION));
  }

  @Test
  void countsDuplicates() throws Exception {
    start(args("maxBatchRecords", 5));
    ingest.duplicates = 2;
    for (final JsonRecord r : p1.subList(0, 10)) {
      exporter.export(r);
    }
    assertEquals(4, counter("flowline.exporter.duplicates"));
    assertEquals(10, counter("flowline.exporter.records.sent"));
  }

  @Test
  void invalidConfigurationIsRefusedWithEveryProblem() {
    final FakeContext ctx =
        new FakeContext(
            1,
            Map.of(
                "url", "ftp://x",
                "valueTypes", List.of("JOB", "NOPE"),
                "recordTypes", "",
                "flushDelay", "soon",
                "maxBatchRecords", 0));
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new FlowlineExporter().configure(ctx));
    for (final String s : List.of("url", "NOPE", "recordTypes", "flushDelay", "maxBatchRecords")) {
      assertTrue(e.getMessage().contains(s), e.getMessage());
    }
    final FakeContext missing = new FakeContext(1, Map.of());
    assertThrows(IllegalArgumentException.class, () -> new FlowlineExporter().configure(missing));
  }

  @Test
  void urlAndDurationParsing() {
    assertEquals("http://h:1/v1/records", FlowlineExporterConfiguration.recordsUri("http://h:1").toString());
    assertEquals("http://h:1/v1/records", FlowlineExporterConfiguration.recordsUri("http://h:1/").toString());
    assertEquals("https://h/x/v1/records", FlowlineExporterConfiguration.recordsUri("https://h/x/v1/records").toString());
    assertEquals(Duration.ofMillis(500), FlowlineExporterConfiguration.parseDuration("500ms"));
    assertEquals(Duration.ofSeconds(1), FlowlineExporterConfiguration.parseDuration("PT1S"));
    assertEquals(Duration.ofMinutes(2), FlowlineExporterConfiguration.parseDuration("2m"));
    assertEquals(Duration.ofSeconds(3), FlowlineExporter.retryAfter("3"));
    assertEquals(7, FlowlineExporter.jsonLong("{\"accepted\":3, \"duplicates\": 7}", "duplicates"));
    assertEquals("line 2: \"x\"", FlowlineExporter.jsonString("{\"error\":\"line 2: \\\"x\\\"\"}", "error"));
  }

  @Test
  void recordsAtOrBelowTheExportedPositionAreNotSentAgain() throws Exception {
    controller.lastPosition = p1.get(4).getPosition();
    start(args("maxBatchRecords", 5));
    for (final JsonRecord r : p1.subList(0, 10)) {
      exporter.export(r);
    }
    assertEquals(1, ingest.requests().size());
    assertEquals(jsons(p1.subList(5, 10)), ingest.requests().get(0).lines());
  }

  @Test
  void readsTheTokenFileBeforeEveryRequest(@TempDir final Path dir) throws Exception {
    final Path file = dir.resolve("token");
    Files.writeString(file, "one\n");
    final Map<String, Object> a = args("maxBatchRecords", 1, "tokenFile", file.toString());
    a.remove("token");
    start(a);
    exporter.export(p1.get(0));
    Files.writeString(file, "two\n");
    exporter.export(p1.get(1));
    assertEquals("Bearer one", ingest.requests().get(0).header("Authorization"));
    assertEquals("Bearer two", ingest.requests().get(1).header("Authorization"));
  }

  @Test
  void aFilteredRecordBetweenBufferedOnesIsNotAcknowledged() throws Exception {
    start(args("valueTypes", "PROCESS_INSTANCE", "maxBatchRecords", 1000));
    int firstAccepted = -1;
    for (int i = 0; i < p1.size(); i++) {
      if (firstAccepted < 0 && p1.get(i).getValueType() == ValueType.PROCESS_INSTANCE) {
        firstAccepted = i;
      }
      exporter.export(p1.get(i));
    }
    assertTrue(firstAccepted > 0, "the fixture starts with a record the filter drops");
    assertTrue(
        p1.subList(firstAccepted, p1.size()).stream().anyMatch(r -> r.getValueType() != ValueType.PROCESS_INSTANCE),
        "the fixture has filtered records between accepted ones");
    // only the filtered records before anything was buffered; nothing while records wait in the buffer
    assertEquals(p1.get(firstAccepted - 1).getPosition(), controller.lastPosition);
    assertTrue(ingest.requests().isEmpty());
    exporter.close();
    final JsonRecord lastAccepted =
        p1.stream().filter(r -> r.getValueType() == ValueType.PROCESS_INSTANCE).reduce((a, b) -> b).orElseThrow();
    assertEquals(lastAccepted.getPosition(), controller.lastPosition);
  }

  @Test
  void aScheduledFlushThatFailsIsScheduledAgain() throws Exception {
    start(args("flushDelay", "1s"));
    ingest.reply(Reply.of(503, "{\"error\":\"not ready\"}"));
    exporter.export(p1.get(0));
    controller.runScheduled();
    assertEquals(1, ingest.requests().size());
    assertTrue(controller.updates.isEmpty());
    final FakeController.Task next = controller.pending();
    assertTrue(next.delay.compareTo(Duration.ofSeconds(1)) <= 0, "next run no later than the flush delay");
    Thread.sleep(250); // past the backoff (maxRetryDelay 200ms)
    controller.runScheduled();
    assertEquals(List.of(p1.get(0).getPosition()), controller.updates);
  }

  @Test
  void aTokenThatCannotBeAHeaderIsNeverSentNorShown(@TempDir final Path dir) throws Exception {
    final Path file = dir.resolve("token");
    Files.writeString(file, "SECRETPART1\nSECRETPART2\n");
    final Map<String, Object> a = args("maxBatchRecords", 1, "tokenFile", file.toString());
    a.remove("token");
    start(a);
    final List<String> thrown = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      try {
        exporter.export(p1.get(0));
      } catch (ExporterException e) {
        thrown.add(e.getMessage() + (e.getCause() == null ? "" : " " + e.getCause()));
      }
      Thread.sleep(250);
    }
    assertEquals(3, thrown.size());
    assertTrue(ingest.requests().isEmpty());
    assertTrue(controller.updates.isEmpty());
    final String said = everythingSaid(thrown);
    assertFalse(said.contains("SECRETPART"), said);
    assertTrue(said.contains("not allowed in an HTTP header"), said);
    // and a token argument like that is refused at configure, without showing it
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new FlowlineExporter().configure(new FakeContext(1, args("token", "SECRETPART1 SECRETPART2"))));
    assertFalse(e.getMessage().contains("SECRETPART"), e.getMessage());
  }

  @Test
  void a202ThatDoesNotAccountForTheBatchIsNotAnAcknowledgement() throws Exception {
    start(args("maxBatchRecords", 3));
    ingest.reply(Reply.of(202, "<html>accepted by a proxy</html>"));
    ingest.reply(Reply.of(202, "{\"accepted\":1,\"duplicates\":0}"));
    exporter.export(p1.get(0));
    exporter.export(p1.get(1));
    assertThrows(ExporterException.class, () -> exporter.export(p1.get(2)));
    assertTrue(controller.updates.isEmpty());
    exportUntilAccepted(p1.get(2));
    assertEquals(3, ingest.requests().size());
    assertEquals(List.of(p1.get(2).getPosition()), controller.updates);
    assertEquals(2, counter("flowline.exporter.retries"));
    assertTrue(
        context.logger.at(Level.ERROR).stream().anyMatch(l -> l.message().contains("accounted for 1 of 3")),
        context.logger.lines.toString());
  }

  @Test
  void droppedRecordsAreCountedAndAcknowledged() throws Exception {
    start(args("maxBatchRecords", 2));
    ingest.reply(Reply.of(202, "{\"accepted\":1,\"duplicates\":0,\"dropped\":1}"));
    exporter.export(p1.get(0));
    exporter.export(p1.get(1));
    assertEquals(List.of(p1.get(1).getPosition()), controller.updates);
    assertEquals(1, counter("flowline.exporter.dropped"));
    assertEquals(1, context.logger.at(Level.WARN).size());
  }

  @Test
  void retryAfterIsHonouredUpToMaxRetryDelay() throws Exception {
    start(args("maxBatchRecords", 1, "maxRetryDelay", "300ms"));
    ingest.reply(new Reply(429, "{\"error\":\"busy\"}", Map.of("Retry-After", "99999999999999")));
    assertThrows(ExporterException.class, () -> exporter.export(p1.get(0)));
    final long first = ingest.requests().get(0).nanoTime();
    exportUntilAccepted(p1.get(0));
    final long waited = ingest.requests().get(1).nanoTime() - first;
    assertTrue(waited >= Duration.ofMillis(290).toNanos(), "waited " + waited / 1_000_000 + "ms");
    assertTrue(waited < Duration.ofSeconds(5).toNanos(), "waited " + waited / 1_000_000 + "ms");
    assertEquals(List.of(p1.get(0).getPosition()), controller.updates);
  }

  @Test
  void urlsWithCredentialsOrQueriesAreRefusedWithoutShowingThem() {
    for (final String url : List.of("http://user:SECRETPW@h:8080", "http://h:8080/v1/records?x=1", "http://in_gest:8080")) {
      final IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> new FlowlineExporter().configure(new FakeContext(1, args("url", url))),
              url);
      assertFalse(e.getMessage().contains("SECRETPW"), e.getMessage());
      assertTrue(e.getMessage().contains("url"), e.getMessage());
    }
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new FlowlineExporter().configure(new FakeContext(1, args("maxRetryDelay", "1000h"))));
    assertTrue(e.getMessage().contains("maxRetryDelay"), e.getMessage());
  }
}
