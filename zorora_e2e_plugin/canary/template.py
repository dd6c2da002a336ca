"""`zorora-e2e canary-template`: the CloudFormation template (YAML) that deploys the canary (docs/canary.md).

The function (this package's handler) on a schedule, its log group, an alarm on `Passed` below 1 for two periods
(missing data counts as breaching: a canary that stops running pages too) notifying an SNS topic (and an e-mail
when one is given), and a least-privilege role. The role's S3 statements are made from the same prefixes a run
writes under (s3/customer_state.TOP_LEVELS and the test customer's prefix, config/settings.TEST_CUSTOMER_PREFIX):
the preflight's probe key and any marker a run keeps under its own customer are inside them.
tests/test_canary_template.py lints it with cfn-lint and proves the role allows what a run sends and no more.
"""

from __future__ import annotations

from ..config.metrics import DEFAULT_NAMESPACE
from ..config.settings import DEFAULT_BUCKET, DEFAULT_TOKEN_PARAMETER, TEST_CUSTOMER_PREFIX
from ..s3.customer_state import TOP_LEVELS

MEMORY_MB = 512
TIMEOUT_S = 180
HANDLER = "zorora_e2e_plugin.canary.handler"
RUNTIME = "python3.12"


def run_prefixes() -> list:
    """Where a run's objects are: each top-level prefix's zorora-e2e-test-* customers (key patterns)."""
    return [f"{top}{TEST_CUSTOMER_PREFIX}*" for top in TOP_LEVELS]


def _lines(items, indent: int) -> str:
    return "\n".join(" " * indent + item for item in items)


def template() -> str:
    """The template's text: TEMPLATE with its <<slots>> filled."""
    slots = {
        "objects": _lines([f'- !Sub "arn:${{AWS::Partition}}:s3:::${{BucketName}}/{p}"' for p in run_prefixes()], 18),
        "listed": _lines([f'- "{p}"' for p in run_prefixes()], 22),
        "memory": str(MEMORY_MB),
        "timeout": str(TIMEOUT_S),
        "handler": HANDLER,
        "runtime": RUNTIME,
        "namespace": DEFAULT_NAMESPACE,
        "bucket": DEFAULT_BUCKET,
        "token": DEFAULT_TOKEN_PARAMETER,
    }
    text = TEMPLATE
    for name, value in slots.items():
        text = text.replace(f"<<{name}>>", value)
    return text


TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: >-
  zorora-e2e canary: the Zorora -> ONA globalTrainingService -> S3 validation on a schedule, its metrics,
  and an alarm when it stops passing (zorora-e2e canary-template; see docs/canary.md).

Parameters:
  CodeBucket:
    Type: String
    Description: The S3 bucket holding the deployment zip (docs/canary.md builds it).
  CodeKey:
    Type: String
    Default: zorora-e2e-canary.zip
    Description: The deployment zip's key in CodeBucket.
  ApiBaseUrl:
    Type: String
    AllowedPattern: "^https://[^/]+/[^/]+/.*$"
    Description: The API's base URL, e.g. https://<api-id>.execute-api.<region>.amazonaws.com/prod/api/v1
  BucketName:
    Type: String
    Default: <<bucket>>
    AllowedPattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
    Description: The Lambda's OUTPUT_BUCKET, in this stack's region.
  TokenParameterName:
    Type: String
    Default: <<token>>
    AllowedPattern: "^/.+"
    Description: The SSM SecureString holding the API's bearer token (encrypted with the aws/ssm key).
  Schedule:
    Type: String
    Default: rate(15 minutes)
    Description: How often the canary runs (an EventBridge schedule expression).
  AlarmPeriodSeconds:
    Type: Number
    Default: 900
    AllowedValues: [60, 300, 600, 900, 1800, 3600]
    Description: The alarm's period; set it to the schedule's interval (900 for rate(15 minutes)).
  Check:
    Type: String
    Default: preflight
    AllowedValues: [preflight, full]
    Description: What each run does - the preflight (3 round trips, writes one probe object) or the full plan.
  ReadinessCustomer:
    Type: String
    Default: ""
    AllowedPattern: "^[A-Za-z0-9._-]*$"
    Description: Optional - a customer whose promotion readiness each run checks (read-only) after the preflight.
  AlarmEmail:
    Type: String
    Default: ""
    Description: Optional - an e-mail address to notify when the alarm changes state.
  MetricsNamespace:
    Type: String
    Default: <<namespace>>
    Description: The CloudWatch namespace of the canary's metrics.

Conditions:
  HasEmail: !Not [!Equals [!Ref AlarmEmail, ""]]
  HasReadinessCustomer: !Not [!Equals [!Ref ReadinessCustomer, ""]]
  IsFull: !Equals [!Ref Check, full]

Resources:
  LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub "/aws/lambda/${AWS::StackName}-canary"
      RetentionInDays: 14

  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
      Policies:
        - PolicyName: canary
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              # its own log stream (the log group is this stack's)
              - Sid: Logs
                Effect: Allow
                Action: [logs:CreateLogStream, logs:PutLogEvents]
                Resource: !Sub "${LogGroup.Arn}"
              # a run's objects: only under the zorora-e2e-test-* customers of the three prefixes (the preflight's
              # probe key and a run's own markers are there too), never bucket/*
              - Sid: TestObjects
                Effect: Allow
                Action: [s3:GetObject, s3:PutObject, s3:DeleteObject, s3:DeleteObjectVersion]
                Resource:
<<objects>>
              # listings (and listings of versions, for a versioned bucket's cleanup) of those prefixes only
              - Sid: ListTestPrefixes
                Effect: Allow
                Action: [s3:ListBucket, s3:ListBucketVersions]
                Resource: !Sub "arn:${AWS::Partition}:s3:::${BucketName}"
                Condition:
                  StringLike:
                    s3:prefix:
<<listed>>
              # HeadBucket (step 0.4) is authorised as s3:ListBucket with no prefix in the request
              - Sid: HeadBucket
                Effect: Allow
                Action: s3:ListBucket
                Resource: !Sub "arn:${AWS::Partition}:s3:::${BucketName}"
                Condition:
                  "Null":
                    s3:prefix: "true"
              # whether the bucket keeps versions (the cleanup then deletes them too)
              - Sid: BucketVersioning
                Effect: Allow
                Action: s3:GetBucketVersioning
                Resource: !Sub "arn:${AWS::Partition}:s3:::${BucketName}"
              - Sid: Token
                Effect: Allow
                Action: ssm:GetParameter
                Resource: !Sub >-
                  arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${TokenParameterName}
              # --metrics cloudwatch (the function prints EMF by default, which needs no permission)
              - Sid: Metrics
                Effect: Allow
                Action: cloudwatch:PutMetricData
                Resource: "*"
                Condition:
                  StringEquals:
                    cloudwatch:namespace: !Ref MetricsNamespace
              - !If
                - HasReadinessCustomer
                - Sid: ReadinessReads
                  Effect: Allow
                  Action: s3:GetObject
                  Resource:
                    - !Sub >-
                      arn:${AWS::Partition}:s3:::${BucketName}/customer_tailored/${ReadinessCustomer}/latest_model.json
                    - !Sub "arn:${AWS::Partition}:s3:::${BucketName}/audit_logs/${ReadinessCustomer}/events.json"
                - !Ref AWS::NoValue

  Function:
    Type: AWS::Lambda::Function
    DependsOn: LogGroup
    Properties:
      FunctionName: !Sub "${AWS::StackName}-canary"
      Description: zorora-e2e canary (zorora_e2e_plugin.canary.handler)
      Runtime: <<runtime>>
      Handler: <<handler>>
      Code:
        S3Bucket: !Ref CodeBucket
        S3Key: !Ref CodeKey
      Role: !GetAtt Role.Arn
      # <<memory>> MB: the run imports botocore, requests and rich (~70 MB resident) and builds one S3 client; Lambda's
      # CPU grows with memory, and at 512 MB a preflight's start-up is well under a second (128-256 MB: seconds)
      MemorySize: <<memory>>
      # <<timeout>> s: the run's deadline is the remaining time less 75 s (zorora_e2e_plugin.canary.MARGIN_S) for
      # the cleanup's own budget, the reports and the metrics; a preflight takes about a second, a full run ~10 s
      Timeout: <<timeout>>
      Environment:
        Variables:
          ONA_API_BASE_URL: !Ref ApiBaseUrl
          OUTPUT_BUCKET: !Ref BucketName
          ZORORA_E2E_TOKEN_FROM_SSM: !Ref TokenParameterName
          ZORORA_E2E_METRICS: emf
          ZORORA_E2E_METRICS_NAMESPACE: !Ref MetricsNamespace

  ScheduleRule:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: !Ref Schedule
      State: ENABLED
      Targets:
        - Id: canary
          Arn: !GetAtt Function.Arn
          Input: !If
            - HasReadinessCustomer
            - !Sub '{"for": "${ReadinessCustomer}"}'
            - !If [IsFull, '{"full": true}', "{}"]

  SchedulePermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref Function
      Principal: events.amazonaws.com
      SourceArn: !GetAtt ScheduleRule.Arn

  Topic:
    Type: AWS::SNS::Topic

  EmailSubscription:
    Type: AWS::SNS::Subscription
    Condition: HasEmail
    Properties:
      TopicArn: !Ref Topic
      Protocol: email
      Endpoint: !Ref AlarmEmail

  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: !Sub >-
        The zorora-e2e canary did not pass for two periods in a row (or did not run): ${ApiBaseUrl}
      Namespace: !Ref MetricsNamespace
      MetricName: Passed
      Unit: Count
      Dimensions:
        # Target: the API's host and stage, as the canary publishes it
        - Name: Target
          Value: !Join ["/", [!Select [2, !Split ["/", !Ref ApiBaseUrl]], !Select [3, !Split ["/", !Ref ApiBaseUrl]]]]
        - Name: Kind
          Value: !If [HasReadinessCustomer, readiness, !Ref Check]
      Statistic: Minimum
      Period: !Ref AlarmPeriodSeconds
      EvaluationPeriods: 2
      DatapointsToAlarm: 2
      Threshold: 1
      ComparisonOperator: LessThanThreshold
      TreatMissingData: breaching
      AlarmActions: [!Ref Topic]
      OKActions: [!Ref Topic]

Outputs:
  FunctionName:
    Value: !Ref Function
  AlarmName:
    Value: !Ref Alarm
  TopicArn:
    Value: !Ref Topic
"""


__all__ = ["HANDLER", "MEMORY_MB", "TIMEOUT_S", "template", "run_prefixes"]
