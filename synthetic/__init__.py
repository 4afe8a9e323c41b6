"""Generated SAR scenes with known coastlines, for tests, benchmarks, training and demos; the engine never
imports it."""
