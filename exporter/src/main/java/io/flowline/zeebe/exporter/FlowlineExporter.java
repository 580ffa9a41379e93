package io.flowline.zeebe.exporter;

import io.camunda.zeebe.exporter.api.Exporter;
import io.camunda.zeebe.exporter.api.ExporterException;
import io.camunda.zeebe.exporter.api.context.Context;
import io.camunda.zeebe.exporter.api.context.Controller;
import io.camunda.zeebe.exporter.api.context.ScheduledTask;
import io.camunda.zeebe.protocol.record.Record;
import io.camunda.zeebe.protocol.record.RecordType;
import io.camunda.zeebe.protocol.record.ValueType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPOutputStream;
import org.slf4j.Logger;

/**
 * Pushes Zeebe records to Flowline ingest ({@code POST /v1/records}, NDJSON of {@link
 * Record#toJson()}). One instance per partition. Records are buffered and sent by count, bytes or
 * delay; the exported position is updated only after ingest answered 202, to the last position of
 * the batch. On failure the batch is kept and export() throws, so that the broker retries the same
 * record later; no request is sent before the backoff (or Retry-After) has passed.
 */
public final class FlowlineExporter implements Exporter {

  private Logger log;
  private FlowlineExporterConfiguration.Settings settings;
  private Controller controller;
  private ScheduledTask flushTask;
  private HttpClient http;
  private int partitionId;

  // the buffered batch, in position order
  private final List<byte[]> lines = new ArrayList<>();
  private final List<Long> positions = new ArrayList<>();
  private long bufferedBytes;
  private long lastBufferedPosition = -1;

  // retry state
  private int failures;
  private Duration requestTimeout; // settings.requestTimeout(), shorter in close()
  private long notBeforeNanos;
  private boolean closed;

  // metrics
  private Counter recordsSent;
  private Counter batches;
  private MeterRegistry registry;
  private Tags tags;
  private Counter duplicates;
  private Counter dropped;
  private Timer flushLatency;
  private final AtomicLong lastAcknowledged = new AtomicLong(-1);
  private final AtomicLong consecutiveFailures = new AtomicLong();

  /** The longest a request of close() may take: the broker's actor waits for it. */
  static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

  @Override
  public void configure(final Context context) {
    log = context.getLogger();
    partitionId = context.getPartitionId();
    final FlowlineExporterConfiguration cfg =
        context.getConfiguration().instantiate(FlowlineExporterConfiguration.class);
    settings = cfg.validate();
    context.setFilter(new TypeFilter(settings));
    registry = context.getMeterRegistry();
    tags = Tags.of("partition", Integer.toString(partitionId));
    recordsSent =
        Counter.builder("flowline.exporter.records.sent")
            .description("records acknowledged by ingest (202)")
            .tags(tags)
            .register(registry);
    batches =
        Counter.builder("flowline.exporter.batches")
            .description("batches acknowledged by ingest (202)")
            .tags(tags)
            .register(registry);
    duplicates =
        Counter.builder("flowline.exporter.duplicates")
            .description("records ingest already held (duplicates in its answers)")
            .tags(tags)
            .register(registry);
    dropped =
        Counter.builder("flowline.exporter.dropped")
            .description("records ingest dropped as not events (FLOWLINE_INGEST_EVENTS_ONLY)")
            .tags(tags)
            .register(registry);
    Gauge.builder("flowline.exporter.consecutive.failures", consecutiveFailures, AtomicLong::get)
        .description("failed requests since the last acknowledged one: above 0 for long, the partition is stuck")
        .tags(tags)
        .register(registry);
    flushLatency =
        Timer.builder("flowline.exporter.flush.latency")
            .description("duration of requests to ingest")
            .tags(tags)
            .register(registry);
    Gauge.builder("flowline.exporter.last.acknowledged.position", lastAcknowledged, AtomicLong::get)
        .description("last position acknowledged to the broker")
        .tags(tags)
        .register(registry);
    if (!settings.recordTypes().equals(java.util.EnumSet.of(RecordType.EVENT))) {
      log.warn(
          "flowline exporter: recordTypes {} include other than EVENT: ingest drops those unless FLOWLINE_INGEST_EVENTS_ONLY=false (counted in flowline.exporter.dropped)",
          settings.recordTypes());
    }
    log.info(
        "flowline exporter configured for partition {}: {} (record types {}, value types {})",
        partitionId,
        settings.uri(),
        settings.recordTypes(),
        settings.valueTypes());
  }

  @Override
  public void open(final Controller controller) {
    this.controller = controller;
    requestTimeout = settings.requestTimeout();
    lastBufferedPosition = controller.getLastExportedRecordPosition();
    lastAcknowledged.set(lastBufferedPosition);
    http =
        HttpClient.newBuilder()
            .connectTimeout(settings.requestTimeout())
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    scheduleFlush(settings.flushDelay());
  }

  @Override
  public void close() {
    closed = true;
    if (flushTask != null) {
      flushTask.cancel();
      flushTask = null;
    }
    if (!lines.isEmpty() && http != null) {
      // best effort, ignoring the backoff: one round of requests bounded by the request timeout
      try {
        notBeforeNanos = 0;
        requestTimeout = settings.requestTimeout().compareTo(CLOSE_TIMEOUT) < 0 ? settings.requestTimeout() : CLOSE_TIMEOUT;
        flush();
      } catch (RuntimeException e) {
        log.warn(
            "flowline exporter: {} records of partition {} not sent on close (the broker exports them again): {}",
            lines.size(),
            partitionId,
            e.getMessage());
      }
    }
    if (http != null) {
      http.close();
    }
  }

  @Override
  public void export(final Record<?> record) {
    final long position = record.getPosition();
    if (position <= lastBufferedPosition) {
      // the broker retries a record whose export threw: it is buffered already
      if (batchFull()) {
        flush();
      }
      return;
    }
    if (!accepted(record)) {
      // the broker filters these; when it did not, nothing waits: acknowledge when idle
      if (lines.isEmpty()) {
        lastBufferedPosition = position;
        acknowledge(position);
      }
      return;
    }
    final byte[] line = (record.toJson() + "\n").getBytes(StandardCharsets.UTF_8);
    if (!lines.isEmpty() && bufferedBytes + line.length > settings.maxBatchBytes()) {
      flush(); // throws on failure: the record is not buffered, the broker retries it
    }
    lines.add(line);
    positions.add(position);
    bufferedBytes += line.length;
    lastBufferedPosition = position;
    if (batchFull()) {
      flush();
    }
  }

  private boolean accepted(final Record<?> record) {
    return settings.recordTypes().contains(record.getRecordType())
        && settings.valueTypes().contains(record.getValueType());
  }

  private boolean batchFull() {
    return lines.size() >= settings.maxBatchRecords()
        || bufferedBytes >= settings.maxBatchBytes();
  }

  private void scheduleFlush(final Duration delay) {
    if (closed || controller == null) {
      return;
    }
    flushTask = controller.scheduleCancellableTask(delay, this::scheduledFlush);
  }

  private void scheduledFlush() {
    try {
      if (!lines.isEmpty() && System.nanoTime() - notBeforeNanos >= 0) {
        flush();
      }
    } catch (RuntimeException e) {
      // logged in flush; kept for the next run or the next export()
    } finally {
      Duration next = settings.flushDelay();
      final long wait = notBeforeNanos - System.nanoTime();
      if (!lines.isEmpty() && wait > 0 && wait < next.toNanos()) {
        next = Duration.ofNanos(wait);
      }
      scheduleFlush(next);
    }
  }

  /**
   * Sends the whole buffer, splitting on 413. Returns when everything buffered is acknowledged;
   * throws ExporterException (keeping what is not acknowledged) otherwise.
   */
  void flush() {
    final long wait = notBeforeNanos - System.nanoTime();
    if (wait > 0) {
      throw new ExporterException(
          "flowline exporter: backing off, next request to ingest in " + wait / 1_000_000 + "ms");
    }
    // sizes of the chunks still to send, next first: a 413 replaces a chunk by its two halves
    final java.util.Deque<Integer> chunks = new java.util.ArrayDeque<>();
    chunks.push(lines.size());
    while (!chunks.isEmpty() && !lines.isEmpty()) {
      final int n = Math.min(chunks.pop(), lines.size());
      final Answer answer = post(n);
      if (answer.status == 202 && answer.accounted(n)) {
        final long last = positions.get(n - 1);
        acknowledge(last);
        recordsSent.increment(n);
        batches.increment();
        if (answer.duplicates > 0) {
          duplicates.increment(answer.duplicates);
        }
        if (answer.dropped > 0) {
          dropped.increment(answer.dropped);
          log.warn(
              "flowline exporter: partition {}: ingest dropped {} of {} records as not events (FLOWLINE_INGEST_EVENTS_ONLY)",
              partitionId,
              answer.dropped,
              n);
        }
        consecutiveFailures.set(0);
        for (int i = 0; i < n; i++) {
          bufferedBytes -= lines.get(i).length;
        }
        lines.subList(0, n).clear();
        positions.subList(0, n).clear();
        failures = 0;
        continue;
      }
      if (answer.status == 202) {
        answer.reason =
            "ingest answered 202 but accounted for "
                + (answer.accepted + answer.duplicates + answer.dropped)
                + " of "
                + n
                + " records (accepted "
                + answer.accepted
                + ", duplicates "
                + answer.duplicates
                + ", dropped "
                + answer.dropped
                + "): is this Flowline ingest? "
                + answer.reason;
      }
      if (answer.status == 413 && n > 1) {
        log.info(
            "flowline exporter: ingest refused a batch of {} records as too large ({}); sending it in halves",
            n,
            answer.reason);
        chunks.push(n / 2);
        chunks.push(n - n / 2);
        continue;
      }
      fail(answer, n);
    }
  }

  private void acknowledge(final long position) {
    controller.updateLastExportedRecordPosition(position);
    lastAcknowledged.set(position);
  }

  private void fail(final Answer answer, final int n) {
    failures++;
    consecutiveFailures.incrementAndGet();
    Counter.builder("flowline.exporter.retries")
        .description("failed requests to ingest that will be retried, by reason (HTTP status or network)")
        .tags(tags.and("reason", answer.status == 0 ? "network" : Integer.toString(answer.status)))
        .register(registry)
        .increment();
    final long base = settings.retryDelay().toNanos();
    final long cap = settings.maxRetryDelay().toNanos();
    long delay = base;
    for (int i = 1; i < failures && delay < cap; i++) {
      delay *= 2;
    }
    delay = Math.min(cap, delay);
    delay = delay / 2 + ThreadLocalRandom.current().nextLong(delay / 2 + 1); // jitter: [d/2, d]
    if (answer.retryAfter != null) {
      // honoured up to maxRetryDelay: a proxy's "Retry-After: 86400" must not stall the partition for a day
      delay = Math.max(delay, answer.retryAfter.compareTo(settings.maxRetryDelay()) > 0 ? cap : answer.retryAfter.toNanos());
    }
    notBeforeNanos = System.nanoTime() + delay;
    final String what =
        String.format(
            "flowline exporter: partition %d: %d records (positions %d..%d) not accepted by %s: %s; retry #%d in %dms",
            partitionId,
            n,
            positions.get(0),
            positions.get(n - 1),
            settings.uri(),
            answer.describe(),
            failures,
            delay / 1_000_000);
    if (answer.status == 0 || answer.status == 429 || answer.status == 503) {
      log.warn(what);
    } else if (answer.status == 413) {
      log.error(
          what
              + " (a single record ingest refuses as too large: raise ingest's FLOWLINE_INGEST_MAX_RECORD_BYTES and FLOWLINE_INGEST_MAX_BODY_BYTES; the partition's export waits until it gets through)");
    } else {
      log.error(what);
    }
    throw new ExporterException(what, answer.error);
  }

  private Answer post(final int n) {
    final long start = System.nanoTime();
    try {
      final ByteArrayOutputStream raw = new ByteArrayOutputStream((int) Math.min(bufferedBytes, 1 << 26));
      for (int i = 0; i < n; i++) {
        raw.write(lines.get(i));
      }
      byte[] body = raw.toByteArray();
      final HttpRequest.Builder req =
          HttpRequest.newBuilder(settings.uri())
              .timeout(requestTimeout)
              .header("Content-Type", "application/x-ndjson")
              .header("Accept", "application/json");
      if (settings.gzip()) {
        final ByteArrayOutputStream zipped = new ByteArrayOutputStream(body.length / 4 + 64);
        try (GZIPOutputStream gz = new GZIPOutputStream(zipped)) {
          gz.write(body);
        }
        body = zipped.toByteArray();
        req.header("Content-Encoding", "gzip");
      }
      final String token = settings.bearerToken();
      if (token != null) {
        req.header("Authorization", "Bearer " + token);
      }
      final HttpResponse<String> resp =
          http.send(
              req.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
              HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      final String text = resp.body() == null ? "" : resp.body();
      final Answer a = new Answer(resp.statusCode());
      if (a.status == 202) {
        a.accepted = jsonLong(text, "accepted");
        a.duplicates = jsonLong(text, "duplicates");
        a.dropped = jsonLong(text, "dropped");
        a.reason = text.length() > 200 ? text.substring(0, 200) : text.strip();
      } else {
        a.reason = jsonString(text, "error");
        if (a.reason == null) {
          a.reason = text.length() > 500 ? text.substring(0, 500) : text.strip();
        }
        a.retryAfter = resp.headers().firstValue("Retry-After").map(FlowlineExporter::retryAfter).orElse(null);
      }
      return a;
    } catch (ConnectException e) {
      final Answer a = new Answer(0);
      a.reason = "ingest unreachable (" + (e.getMessage() == null ? "connection refused" : e.getMessage()) + ")";
      a.error = e;
      return a;
    } catch (IOException e) {
      final Answer a = new Answer(0);
      a.reason = e.getClass().getSimpleName() + ": " + e.getMessage();
      a.error = e;
      return a;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      final Answer a = new Answer(0);
      a.reason = "interrupted";
      a.error = e;
      return a;
    } catch (RuntimeException e) {
      // e.g. the JDK refusing a header value: its message may hold the header (the token), so it is not kept
      final Answer a = new Answer(0);
      a.reason = "request not sent: " + e.getClass().getName();
      return a;
    } finally {
      flushLatency.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  /** Retry-After: seconds or an HTTP date; null when it does not parse. */
  static Duration retryAfter(final String v) {
    final String s = v.strip();
    try {
      return Duration.ofSeconds(Math.max(0, Long.parseLong(s)));
    } catch (NumberFormatException e) {
      try {
        final ZonedDateTime t = ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME);
        final Duration d = Duration.between(ZonedDateTime.now(t.getZone()), t);
        return d.isNegative() ? Duration.ZERO : d;
      } catch (RuntimeException e2) {
        return null;
      }
    }
  }

  /** The number value of "name" in a small flat JSON object; 0 when absent. */
  static long jsonLong(final String json, final String name) {
    final int at = valueStart(json, name);
    if (at < 0) {
      return 0;
    }
    int end = at;
    while (end < json.length() && (Character.isDigit(json.charAt(end)) || json.charAt(end) == '-')) {
      end++;
    }
    try {
      return Long.parseLong(json.substring(at, end));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** The string value of "name" in a small JSON object (first occurrence); null when absent. */
  static String jsonString(final String json, final String name) {
    final int at = valueStart(json, name);
    if (at < 0 || at >= json.length() || json.charAt(at) != '"') {
      return null;
    }
    final StringBuilder out = new StringBuilder();
    for (int i = at + 1; i < json.length(); i++) {
      final char c = json.charAt(i);
      if (c == '"') {
        return out.toString();
      }
      if (c == '\\' && i + 1 < json.length()) {
        final char e = json.charAt(++i);
        switch (e) {
          case 'n' -> out.append('\n');
          case 't' -> out.append('\t');
          case 'r' -> out.append('\r');
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'u' -> {
            if (i + 4 < json.length()) {
              out.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
              i += 4;
            }
          }
          default -> out.append(e);
        }
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static int valueStart(final String json, final String name) {
    final String key = "\"" + name + "\"";
    int i = json.indexOf(key);
    if (i < 0) {
      return -1;
    }
    i += key.length();
    while (i < json.length() && Character.isWhitespace(json.charAt(i))) {
      i++;
    }
    if (i >= json.length() || json.charAt(i) != ':') {
      return -1;
    }
    i++;
    while (i < json.length() && Character.isWhitespace(json.charAt(i))) {
      i++;
    }
    return i;
  }

  private static final class Answer {
    final int status; // 0: no answer (network error)
    long accepted;
    long duplicates;
    long dropped;
    String reason;
    Duration retryAfter;
    Throwable error;

    Answer(final int status) {
      this.status = status;
    }

    /** Whether a 202's counts cover the n records sent (ingest answers accepted + duplicates + dropped = n). */
    boolean accounted(final int n) {
      return accepted >= 0 && duplicates >= 0 && dropped >= 0 && accepted + duplicates + dropped == n;
    }

    String describe() {
      return (status == 0 ? "" : "HTTP " + status + ": ") + reason;
    }
  }

  static final class TypeFilter implements Context.RecordFilter {
    private final FlowlineExporterConfiguration.Settings settings;

    TypeFilter(final FlowlineExporterConfiguration.Settings settings) {
      this.settings = settings;
    }

    @Override
    public boolean acceptType(final RecordType recordType) {
      return settings.recordTypes().contains(recordType);
    }

    @Override
    public boolean acceptValue(final ValueType valueType) {
      return settings.valueTypes().contains(valueType);
    }
  }
}
