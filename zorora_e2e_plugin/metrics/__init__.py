"""A run's metrics (`--metrics`): what they are (build.py), as Embedded Metric Format lines (emf.py), and sent to
CloudWatch with PutMetricData and read back (cloudwatch.py). Nothing here is imported unless --metrics is asked.
"""
