package dev.flowline.c7engine;

import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.ProcessEngines;
import org.camunda.bpm.engine.task.Task;
import org.glassfish.jersey.server.ResourceConfig;
import org.springframework.boot.autoconfigure.jersey.ResourceConfigCustomizer;
import org.springframework.stereotype.Component;

/**
 * A load hook of this development engine only, for benchmarks: POST
 * /engine-rest/flowline-test/generate?key=K&instances=N&threads=T starts N
 * instances of the latest definition of K (variables customer, amount,
 * count, vip) on T threads and completes each instance's user tasks (with
 * variables approved and comment), all through the engine's Java API, which
 * is many times faster than one REST call per step. It answers when every
 * instance has been driven, with the count and the time taken.
 */
@Component
public class TestGenerator implements ResourceConfigCustomizer {
  @Override
  public void customize(ResourceConfig config) {
    config.register(Endpoint.class);
  }

  @Path("/flowline-test/generate")
  public static class Endpoint {
    @POST
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> generate(
        @QueryParam("key") String key,
        @QueryParam("instances") int instances,
        @QueryParam("threads") int threads) throws Exception {
      if (key == null || key.isEmpty() || instances <= 0) {
        throw new WebApplicationException("key and a positive instances are required", 400);
      }
      ProcessEngine engine = ProcessEngines.getDefaultProcessEngine();
      ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
      AtomicLong next = new AtomicLong();
      long start = System.nanoTime();
      try {
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < Math.max(1, threads); t++) {
          done.add(pool.submit(() -> {
            for (long i = next.getAndIncrement(); i < instances; i = next.getAndIncrement()) {
              Map<String, Object> vars = new HashMap<>();
              vars.put("customer", "customer-" + (i % 1000));
              vars.put("amount", 10.0 + (i % 500));
              vars.put("count", (int) (i % 50));
              vars.put("vip", i % 7 == 0);
              String pi = engine.getRuntimeService()
                  .startProcessInstanceByKey(key, "order-" + i, vars).getId();
              for (Task task : engine.getTaskService().createTaskQuery().processInstanceId(pi).list()) {
                Map<String, Object> out = new HashMap<>();
                out.put("approved", i % 10 != 0);
                out.put("comment", "checked by the generator");
                engine.getTaskService().complete(task.getId(), out);
              }
            }
            return null;
          }));
        }
        for (Future<?> f : done) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      Map<String, Object> result = new HashMap<>();
      result.put("instances", instances);
      result.put("millis", (System.nanoTime() - start) / 1_000_000);
      return result;
    }
  }
}
