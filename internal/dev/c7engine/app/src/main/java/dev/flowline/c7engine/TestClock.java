package dev.flowline.c7engine;

import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.QueryParam;
import java.util.Date;
import org.camunda.bpm.engine.impl.util.ClockUtil;
import org.glassfish.jersey.server.ResourceConfig;
import org.springframework.boot.autoconfigure.jersey.ResourceConfigCustomizer;
import org.springframework.stereotype.Component;

/**
 * A test hook of this development engine only: PUT
 * /engine-rest/flowline-test/clock?epochMillis=N stops the engine's clock at
 * N (every history entity created until it is moved or reset carries that
 * timestamp), DELETE resets it to the system clock. Tests use it to create
 * entities sharing one millisecond.
 */
@Component
public class TestClock implements ResourceConfigCustomizer {
  @Override
  public void customize(ResourceConfig config) {
    config.register(Endpoint.class);
  }

  @Path("/flowline-test/clock")
  public static class Endpoint {
    @PUT
    public void set(@QueryParam("epochMillis") long epochMillis) {
      ClockUtil.setCurrentTime(new Date(epochMillis));
    }

    @DELETE
    public void reset() {
      ClockUtil.reset();
    }
  }
}
