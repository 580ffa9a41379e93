package io.flowline.zeebe.exporter;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * An SLF4J logger keeping what is logged, with its level; or, built with a sink, handing each line
 * at INFO and above to it instead (the broker harness logs to stderr that way).
 */
final class CapturingLogger extends AbstractLogger {
  record Line(Level level, String message) {}

  final List<Line> lines = new ArrayList<>();
  private final Consumer<Line> sink;

  CapturingLogger() {
    name = "flowline-exporter-test";
    sink = null;
  }

  CapturingLogger(final String name, final Consumer<Line> sink) {
    this.name = name;
    this.sink = sink;
  }

  synchronized List<Line> at(final Level level) {
    return lines.stream().filter(l -> l.level() == level).toList();
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  protected synchronized void handleNormalizedLoggingCall(
      final Level level, final Marker marker, final String msg, final Object[] args, final Throwable t) {
    final Line line = new Line(level, MessageFormatter.basicArrayFormat(msg, args));
    if (sink == null) {
      lines.add(line);
    } else if (level.toInt() >= Level.INFO.toInt()) {
      sink.accept(line);
    }
  }

  @Override public boolean isTraceEnabled() { return true; }
  @Override public boolean isTraceEnabled(final Marker marker) { return true; }
  @Override public boolean isDebugEnabled() { return true; }
  @Override public boolean isDebugEnabled(final Marker marker) { return true; }
  @Override public boolean isInfoEnabled() { return true; }
  @Override public boolean isInfoEnabled(final Marker marker) { return true; }
  @Override public boolean isWarnEnabled() { return true; }
  @Override public boolean isWarnEnabled(final Marker marker) { return true; }
  @Override public boolean isErrorEnabled() { return true; }
  @Override public boolean isErrorEnabled(final Marker marker) { return true; }
}
