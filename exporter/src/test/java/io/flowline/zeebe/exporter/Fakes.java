package io.flowline.zeebe.exporter;

import com.sun.net.httpserver.HttpServer;
import io.camunda.zeebe.exporter.api.context.Configuration;
import io.camunda.zeebe.exporter.api.context.Context;
import io.camunda.zeebe.exporter.api.context.Controller;
import io.camunda.zeebe.exporter.api.context.ScheduledTask;
import io.camunda.zeebe.protocol.record.Record;
import io.camunda.zeebe.protocol.record.RecordType;
import io.camunda.zeebe.protocol.record.RecordValue;
import io.camunda.zeebe.protocol.record.RejectionType;
import io.camunda.zeebe.protocol.record.ValueType;
import io.camunda.zeebe.protocol.record.intent.Intent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;

/** Hand-written fakes of the broker side and of ingest. */
final class Fakes {
  private Fakes() {}

  /** A record of a real exporter JSON line; getters read the line's top-level fields. */
  static final class JsonRecord implements Record<RecordValue> {
    private final String json;
    private final long position;
    private final int partitionId;
    private final RecordType recordType;
    private final ValueType valueType;

    JsonRecord(final String json) {
      this.json = json;
      position = Long.parseLong(field(json, "position"));
      partitionId = Integer.parseInt(field(json, "partitionId"));
      recordType = RecordType.valueOf(field(json, "recordType"));
      valueType = ValueType.valueOf(field(json, "valueType"));
    }

    private static String field(final String json, final String name) {
      final Matcher m = Pattern.compile("\"" + name + "\":\"?([A-Z_0-9-]+)\"?").matcher(json);
      if (!m.find()) {
        throw new IllegalArgumentException("no " + name + " in " + json);
      }
      return m.group(1);
    }

    @Override public String toJson() { return json; }
    @Override public long getPosition() { return position; }
    @Override public long getSourceRecordPosition() { return Long.parseLong(field(json, "sourceRecordPosition")); }
    @Override public long getKey() { return Long.parseLong(field(json, "key")); }
    @Override public long getTimestamp() { return Long.parseLong(field(json, "timestamp")); }
    @Override public Intent getIntent() { return null; }
    @Override public int getPartitionId() { return partitionId; }
    @Override public RecordType getRecordType() { return recordType; }
    @Override public RejectionType getRejectionType() { return RejectionType.NULL_VAL; }
    @Override public String getRejectionReason() { return ""; }
    @Override public String getBrokerVersion() { return "8.8.0"; }
    @Override public Map<String, Object> getAuthorizations() { return Map.of(); }
    @Override public int getRecordVersion() { return 1; }
    @Override public ValueType getValueType() { return valueType; }
    @Override public RecordValue getValue() { return null; }
    @Override public long getOperationReference() { return -1; }
    @Override public Record<RecordValue> copyOf() { return this; }
  }

  static List<JsonRecord> fixture(final String name) throws IOException {
    final List<JsonRecord> out = new ArrayList<>();
    try (InputStream in = Fakes.class.getResourceAsStream("/" + name);
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.isBlank()) {
          out.add(new JsonRecord(line));
        }
      }
    }
    return out;
  }

  /** Maps arguments onto the public fields of the configuration class, like the broker does. */
  static final class FakeConfiguration implements Configuration {
    final Map<String, Object> args;

    FakeConfiguration(final Map<String, Object> args) {
      this.args = args;
    }

    @Override public String getId() { return "flowline"; }
    @Override public Map<String, Object> getArguments() { return args; }

    @Override
    public <T> T instantiate(final Class<T> type) {
      try {
        final T t = type.getDeclaredConstructor().newInstance();
        for (final Map.Entry<String, Object> e : args.entrySet()) {
          final Field f = type.getField(e.getKey());
          final Object v = e.getValue();
          if (f.getType() == int.class) {
            f.setInt(t, Integer.parseInt(String.valueOf(v)));
          } else if (f.getType() == long.class) {
            f.setLong(t, Long.parseLong(String.valueOf(v)));
          } else if (f.getType() == boolean.class) {
            f.setBoolean(t, Boolean.parseBoolean(String.valueOf(v)));
          } else if (f.getType() == String.class) {
            f.set(t, String.valueOf(v));
          } else {
            f.set(t, v);
          }
        }
        return t;
      } catch (ReflectiveOperationException e) {
        throw new IllegalArgumentException(e);
      }
    }
  }

  static final class FakeContext implements Context {
    final FakeConfiguration configuration;
    final int partitionId;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    volatile RecordFilter filter;
    final CapturingLogger logger;

    FakeContext(final int partitionId, final Map<String, Object> args) {
      this(partitionId, args, new CapturingLogger());
    }

    FakeContext(final int partitionId, final Map<String, Object> args, final CapturingLogger logger) {
      this.partitionId = partitionId;
      this.logger = logger;
      configuration = new FakeConfiguration(args);
    }

    @Override public MeterRegistry getMeterRegistry() { return registry; }
    @Override public Logger getLogger() { return logger; }
    @Override public InstantSource clock() { return InstantSource.system(); }
    @Override public Configuration getConfiguration() { return configuration; }
    @Override public int getPartitionId() { return partitionId; }
    @Override public void setFilter(final RecordFilter filter) { this.filter = filter; }
  }

  static final class FakeController implements Controller {
    final List<Long> updates = new ArrayList<>();
    long lastPosition = -1;
    final List<Task> tasks = new ArrayList<>();

    static final class Task implements ScheduledTask {
      final Duration delay;
      final Runnable runnable;
      boolean canceled;
      boolean ran;

      Task(final Duration delay, final Runnable runnable) {
        this.delay = delay;
        this.runnable = runnable;
      }

      @Override public void cancel() { canceled = true; }
    }

    @Override
    public void updateLastExportedRecordPosition(final long position) {
      updates.add(position);
      lastPosition = position;
    }

    @Override
    public void updateLastExportedRecordPosition(final long position, final byte[] metadata) {
      updateLastExportedRecordPosition(position);
    }

    @Override public long getLastExportedRecordPosition() { return lastPosition; }

    @Override
    public ScheduledTask scheduleCancellableTask(final Duration delay, final Runnable task) {
      final Task t = new Task(delay, task);
      tasks.add(t);
      return t;
    }

    @Override public Optional<byte[]> readMetadata() { return Optional.empty(); }

    /** Runs the pending (latest, not canceled, not yet run) scheduled task, as the broker would after its delay. */
    void runScheduled() {
      final Task t = pending();
      t.ran = true;
      t.runnable.run();
    }

    Task pending() {
      final Task t = tasks.get(tasks.size() - 1);
      if (t.canceled || t.ran) {
        throw new AssertionError("no pending scheduled task");
      }
      return t;
    }
  }

  /** One request ingest got. */
  record Request(long nanoTime, Map<String, List<String>> headers, List<String> lines) {
    String header(final String name) {
      final List<String> v = headers.get(name);
      return v == null || v.isEmpty() ? null : v.get(0);
    }
  }

  /** A scripted answer. */
  record Reply(int status, String body, Map<String, String> headers) {
    static Reply of(final int status, final String body) {
      return new Reply(status, body, Map.of());
    }
  }

  /** Ingest: answers scripted replies first, then 202 {"accepted":N,"duplicates":duplicates}. */
  static final class FakeIngest implements AutoCloseable {
    final HttpServer server;
    final List<Request> requests = new ArrayList<>();
    final Deque<Reply> script = new ArrayDeque<>();
    /** When > 0: answer 413 to any request of more records than this. */
    volatile int maxRecords;
    volatile int duplicates;

    FakeIngest() throws IOException {
      this(0);
    }

    FakeIngest(final int port) throws IOException {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
      server.createContext(
          "/v1/records",
          ex -> {
            final byte[] raw = ex.getRequestBody().readAllBytes();
            final InputStream in =
                "gzip".equals(ex.getRequestHeaders().getFirst("Content-Encoding"))
                    ? new GZIPInputStream(new ByteArrayInputStream(raw))
                    : new ByteArrayInputStream(raw);
            final String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            final List<String> lines = new ArrayList<>();
            for (final String l : body.split("\n")) {
              if (!l.isBlank()) {
                lines.add(l);
              }
            }
            final Reply reply;
            synchronized (this) {
              requests.add(new Request(System.nanoTime(), new HashMap<>(ex.getRequestHeaders()), lines));
              if (!script.isEmpty()) {
                reply = script.poll();
              } else if (maxRecords > 0 && lines.size() > maxRecords) {
                reply = Reply.of(413, "{\"error\":\"request body exceeds the limit\"}");
              } else {
                reply =
                    Reply.of(
                        202,
                        "{\"accepted\":" + (lines.size() - duplicates) + ",\"duplicates\":" + duplicates + "}");
              }
            }
            ex.getResponseHeaders().set("Content-Type", "application/json");
            reply.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
            final byte[] out = reply.body().getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(reply.status(), out.length);
            ex.getResponseBody().write(out);
            ex.close();
          });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    int port() {
      return server.getAddress().getPort();
    }

    synchronized List<Request> requests() {
      return new ArrayList<>(requests);
    }

    synchronized void reply(final Reply r) {
      script.add(r);
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }
}
