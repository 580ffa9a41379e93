package io.flowline.zeebe.exporter;

import io.camunda.zeebe.exporter.api.context.Context;
import io.camunda.zeebe.exporter.api.context.Controller;
import io.camunda.zeebe.exporter.api.context.ScheduledTask;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs {@link FlowlineExporter} the way a Zeebe broker does, one instance per partition, over the
 * records of an NDJSON file of exporter JSON (for example the output of {@code flowline generate}),
 * against a real ingest. It is what Flowline's Go side drives for the stack integration test
 * ({@code test/e2e/exporter_test.go}) and the exporter benchmark ({@code flowline bench
 * --exporter}); it is test code, not part of the jar.
 *
 * <p>Like the broker, each partition has one "actor" thread that runs every call into its exporter
 * (configure, open, export, the scheduled tasks, close); records are handed over in log order,
 * filtered by the exporter's {@code RecordFilter}; an {@code export()} that throws is retried with
 * the same record after a backoff (10 ms doubling to 1 s); a record the filter rejects advances the
 * exported position only when the exporter has acknowledged everything handed to it so far.
 *
 * <p>Like the broker, it can keep each partition's exported position durably ({@code --state DIR}:
 * {@code partition-<id>.position}, replaced atomically on every update) and resume from it: a run
 * started on the same directory hands over only the records after that position, so a harness
 * killed mid-run and started again is a broker restart.
 *
 * <p>Arguments: {@code --records FILE} (required), {@code --arg name=value} (exporter arguments,
 * repeatable; {@code url} is required), {@code --rate N} (records per second per partition, 0:
 * unlimited), {@code --report D} (progress interval, default 200ms), {@code --timeout D} (how long
 * to wait for the last acknowledgement after the last record, default 2m), {@code --state DIR}.
 *
 * <p>Output, on stdout, one JSON object per line: {@code {"event":"progress",...}} per partition
 * every report interval, then {@code {"event":"done",...}} per partition with its counts and
 * metrics, then {@code {"event":"cpu",...}} with the CPU time used while exporting. Logs go to
 * stderr. The exit status is 0 when every partition's last handed record was acknowledged, else 1.
 */
public final class BrokerHarness {
  private BrokerHarness() {}

  public static void main(final String[] argv) throws Exception {
    final Map<String, Object> args = new LinkedHashMap<>();
    Path records = null;
    double rate = 0;
    Duration report = Duration.ofMillis(200);
    Duration timeout = Duration.ofMinutes(2);
    Path state = null;
    for (int i = 0; i < argv.length; i++) {
      final String flag = argv[i];
      if (i + 1 >= argv.length) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      final String v = argv[++i];
      switch (flag) {
        case "--records" -> records = Path.of(v);
        case "--arg" -> {
          final int eq = v.indexOf('=');
          if (eq <= 0) {
            throw new IllegalArgumentException("--arg " + v + ": want name=value");
          }
          args.put(v.substring(0, eq), v.substring(eq + 1));
        }
        case "--rate" -> rate = Double.parseDouble(v);
        case "--state" -> state = Path.of(v);
        case "--report" -> report = FlowlineExporterConfiguration.parseDuration(v);
        case "--timeout" -> timeout = FlowlineExporterConfiguration.parseDuration(v);
        default -> throw new IllegalArgumentException("unknown flag " + flag);
      }
    }
    if (records == null) {
      throw new IllegalArgumentException("--records FILE is required");
    }
    final Map<Integer, List<Fakes.JsonRecord>> byPartition = new TreeMap<>();
    try (BufferedReader r = Files.newBufferedReader(records, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.isBlank()) {
          final Fakes.JsonRecord rec = new Fakes.JsonRecord(line);
          byPartition.computeIfAbsent(rec.getPartitionId(), p -> new ArrayList<>()).add(rec);
        }
      }
    }
    final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    final List<Partition> partitions = new ArrayList<>();
    for (final Map.Entry<Integer, List<Fakes.JsonRecord>> e : byPartition.entrySet()) {
      partitions.add(new Partition(e.getKey(), e.getValue(), args, rate, state));
    }
    final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    final com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    final long cpuBefore = os.getProcessCpuTime();
    final long started = System.nanoTime();
    for (final Partition p : partitions) {
      p.start();
    }
    boolean ok = true;
    final long reportNanos = report.toNanos();
    long deadline = Long.MAX_VALUE;
    while (true) {
      boolean allHanded = true;
      boolean allAcknowledged = true;
      for (final Partition p : partitions) {
        out.println(p.progress());
        allHanded &= p.handedAll();
        allAcknowledged &= p.handedAll() && p.acknowledgedAll();
      }
      if (allAcknowledged) {
        break;
      }
      if (allHanded && deadline == Long.MAX_VALUE) {
        deadline = System.nanoTime() + timeout.toNanos();
      }
      if (System.nanoTime() - deadline > 0) {
        ok = false;
        break;
      }
      TimeUnit.NANOSECONDS.sleep(reportNanos);
    }
    long lastAck = started;
    for (final Partition p : partitions) {
      lastAck = Math.max(lastAck, p.controller.lastUpdateNanos);
    }
    final long elapsed = lastAck - started; // first record handed over to the last acknowledgement
    long actorCpu = 0;
    for (final Partition p : partitions) {
      actorCpu += p.actorCpuNanos(threads);
    }
    final long cpu = os.getProcessCpuTime() - cpuBefore;
    for (final Partition p : partitions) {
      p.close();
      out.println(p.done());
    }
    out.println(
        String.format(
            "{\"event\":\"cpu\",\"elapsedNanos\":%d,\"processCpuNanos\":%d,\"actorCpuNanos\":%d,\"ok\":%b}",
            elapsed, cpu, actorCpu, ok));
    System.exit(ok ? 0 : 1);
  }

  /** One partition: its exporter, its actor thread, the thread handing it the records. */
  private static final class Partition {
    final int id;
    final List<Fakes.JsonRecord> records;
    final double rate;
    final ActorController controller;
    final Fakes.FakeContext context;
    final FlowlineExporter exporter = new FlowlineExporter();
    final ScheduledExecutorService actor;
    volatile long actorThreadId = -1;
    final Thread feeder;
    volatile int handed; // records handed over (exported or filtered)
    volatile long lastHandedToExporter = -1; // position of the last record export() took
    final AtomicLong failedExports = new AtomicLong();
    volatile Throwable crash;
    final long resumedFrom; // the position kept by an earlier run (--state), -1: none

    Partition(
        final int id,
        final List<Fakes.JsonRecord> records,
        final Map<String, Object> args,
        final double rate,
        final Path state)
        throws IOException {
      this.id = id;
      this.records = records;
      this.rate = rate;
      actor =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                final Thread t = new Thread(r, "actor-partition-" + id);
                t.setDaemon(true);
                return t;
              });
      controller = new ActorController(actor, state == null ? null : state.resolve("partition-" + id + ".position"));
      resumedFrom = controller.getLastExportedRecordPosition();
      context =
          new Fakes.FakeContext(
              id,
              args,
              new CapturingLogger(
                  "flowline-exporter-" + id,
                  line -> System.err.println(line.level() + " flowline-exporter-" + id + ": " + line.message())));
      feeder = new Thread(this::feed, "feeder-partition-" + id);
      feeder.setDaemon(true);
    }

    void start() throws Exception {
      actor
          .submit(
              () -> {
                actorThreadId = Thread.currentThread().threadId();
                exporter.configure(context);
                exporter.open(controller);
                return null;
              })
          .get();
      feeder.start();
    }

    private void feed() {
      final long started = System.nanoTime();
      try {
        for (int i = 0; i < records.size(); i++) {
          if (rate > 0) {
            final long due = started + (long) (i * 1e9 / rate);
            final long wait = due - System.nanoTime();
            if (wait > 0) {
              TimeUnit.NANOSECONDS.sleep(wait);
            }
          }
          final Fakes.JsonRecord r = records.get(i);
          if (r.getPosition() <= resumedFrom) {
            handed = i + 1; // exported by an earlier run: the broker does not hand it over again
            continue;
          }
          long backoff = 10;
          while (!actor.submit(() -> handOver(r)).get()) {
            failedExports.incrementAndGet();
            TimeUnit.MILLISECONDS.sleep(backoff);
            backoff = Math.min(1000, backoff * 2);
          }
          handed = i + 1;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | RuntimeException e) {
        crash = e;
      }
    }

    /** On the actor: true when the record is done with (exported or filtered), false when export() threw. */
    private boolean handOver(final Fakes.JsonRecord r) {
      final Context.RecordFilter filter = context.filter;
      if (filter != null && !(filter.acceptType(r.getRecordType()) && filter.acceptValue(r.getValueType()))) {
        if (controller.getLastExportedRecordPosition() >= lastHandedToExporter) {
          controller.updateLastExportedRecordPosition(r.getPosition());
        }
        return true;
      }
      try {
        exporter.export(r);
        lastHandedToExporter = r.getPosition();
        return true;
      } catch (RuntimeException e) {
        return false;
      }
    }

    boolean handedAll() {
      return handed == records.size() || crash != null;
    }

    boolean acknowledgedAll() {
      return crash == null && controller.getLastExportedRecordPosition() >= lastHandedToExporter;
    }

    long actorCpuNanos(final ThreadMXBean threads) {
      return Math.max(0, threads.getThreadCpuTime(actorThreadId));
    }

    String progress() {
      return String.format(
          "{\"event\":\"progress\",\"partition\":%d,\"records\":%d,\"handed\":%d,\"acknowledged\":%d,\"failedExports\":%d}",
          id, records.size(), handed, controller.getLastExportedRecordPosition(), failedExports.get());
    }

    void close() throws Exception {
      feeder.interrupt();
      actor.submit(exporter::close).get();
      actor.shutdownNow();
    }

    String done() {
      final MeterRegistry reg = context.registry;
      return String.format(
          "{\"event\":\"done\",\"partition\":%d,\"records\":%d,\"handed\":%d,\"resumedFrom\":%d,\"lastHandedPosition\":%d,"
              + "\"lastLogPosition\":%d,\"acknowledged\":%d,\"failedExports\":%d,\"sent\":%d,\"batches\":%d,"
              + "\"retries\":%d,\"duplicates\":%d,\"crash\":%s}",
          id,
          records.size(),
          handed,
          resumedFrom,
          lastHandedToExporter,
          records.isEmpty() ? -1 : records.get(records.size() - 1).getPosition(),
          controller.getLastExportedRecordPosition(),
          failedExports.get(),
          count(reg, "flowline.exporter.records.sent"),
          count(reg, "flowline.exporter.batches"),
          count(reg, "flowline.exporter.retries"),
          count(reg, "flowline.exporter.duplicates"),
          crash == null ? "null" : quote(String.valueOf(crash)));
    }
  }

  /** The sum of the counters of name (over their tags). */
  private static long count(final MeterRegistry reg, final String name) {
    return (long) reg.find(name).counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
  }

  private static String quote(final String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  /**
   * The broker's controller: scheduled tasks run on the partition's actor thread; the position is
   * kept in stateFile (when not null) before the update returns, as the broker keeps it.
   */
  private static final class ActorController implements Controller {
    private final ScheduledExecutorService actor;
    private final Path stateFile;
    private volatile long position = -1;
    volatile long lastUpdateNanos;

    ActorController(final ScheduledExecutorService actor, final Path stateFile) throws IOException {
      this.actor = actor;
      this.stateFile = stateFile;
      if (stateFile != null && Files.exists(stateFile)) {
        position = Long.parseLong(Files.readString(stateFile, StandardCharsets.UTF_8).strip());
      }
    }

    @Override
    public void updateLastExportedRecordPosition(final long position) {
      if (position <= this.position) {
        return;
      }
      if (stateFile != null) {
        try {
          final Path tmp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
          Files.writeString(tmp, Long.toString(position), StandardCharsets.UTF_8);
          Files.move(tmp, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
          throw new UncheckedIOException("keeping the exported position in " + stateFile, e);
        }
      }
      this.position = position;
      lastUpdateNanos = System.nanoTime();
    }

    @Override
    public void updateLastExportedRecordPosition(final long position, final byte[] metadata) {
      updateLastExportedRecordPosition(position);
    }

    @Override
    public long getLastExportedRecordPosition() {
      return position;
    }

    @Override
    public ScheduledTask scheduleCancellableTask(final Duration delay, final Runnable task) {
      final ScheduledFuture<?> f = actor.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
      return () -> f.cancel(false);
    }

    @Override
    public Optional<byte[]> readMetadata() {
      return Optional.empty();
    }
  }
}
