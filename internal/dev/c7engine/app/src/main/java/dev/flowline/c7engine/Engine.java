package dev.flowline.c7engine;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** Starts the Camunda 7 engine with its REST API; see application.yaml. */
@SpringBootApplication
public class Engine {
  public static void main(String[] args) {
    SpringApplication.run(Engine.class, args);
  }
}
