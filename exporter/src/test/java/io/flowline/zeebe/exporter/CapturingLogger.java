package io.flowline.zeebe.exporter;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/** An SLF4J logger keeping what is logged, with its level. */
final class CapturingLogger extends AbstractLogger {
  record Line(Level level, String message) {}

  final List<Line> lines = new ArrayList<>();

  CapturingLogger() {
    name = "flowline-exporter-test";
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
    lines.add(new Line(level, MessageFormatter.basicArrayFormat(msg, args)));
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
