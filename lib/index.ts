/**
 * rotor: database credential rotation for AWS Secrets Manager, as a CDK
 * construct library (PostgreSQL, MySQL, MariaDB on RDS and Aurora).
 *
 * The one-call start is `RotorRotation.forDatabase()` / `addRotorRotation()`
 * on an `rds.DatabaseInstance` or `rds.DatabaseCluster`; the constructs it
 * composes (RotationFunction, DatabaseRotation) and the fleet-level ones
 * (TriggerFunction, GroupRotationSchedule, SecurityAlertRotation,
 * RotationMonitoring, RotorStack) are exported for finer control.
 * See docs/deploying.md, "Use rotor as a construct library".
 *
 * @packageDocumentation
 */
import type * as databaseRotation from './database-rotation';
import type * as groupSchedule from './group-rotation-schedule';
import type * as monitoring from './rotation-monitoring';
import type * as rotationFunction from './rotation-function';
import type * as config from './rotor-config';
import type * as stack from './rotor-stack';
import type * as alerts from './security-alert-rotation';
import type * as trigger from './trigger-function';
import * as databaseRotationValues from './database-rotation';
import * as rotationFunctionValues from './rotation-function';

// One call for an RDS instance or cluster.
export { RotorRotation, addRotorRotation } from './rotor-rotation';
export type { RotorRotationProps, RotorRotationOptions, RotorRotationFunctionOptions, RotorDatabase } from './rotor-rotation';

// The rotation function and one secret's rotation.
export { RotationFunction, passwordPolicyProblems } from './rotation-function';
export type { RotationStrategy, TlsMode, PasswordPolicy, PasswordPolicyProblem, RdsMasterTarget } from './rotation-function';
/** Props of `RotationFunction`: strategy, VPC placement, Secrets Manager endpoint, password policy, TLS floor, timeouts, logging. */
export type RotationFunctionProps = rotationFunction.RotationFunctionProps;
/** The rotation strategies a RotationFunction may use: `single-user`, `alternating-users`, `rds-master`. */
export const ROTATION_STRATEGIES: readonly rotationFunction.RotationStrategy[] = rotationFunctionValues.ROTATION_STRATEGIES;
/** The TLS modes, strongest first: `verify-full`, `require`, `disable`. */
export const TLS_MODES: readonly rotationFunction.TlsMode[] = rotationFunctionValues.TLS_MODES;

export { DatabaseRotation, defaultPort } from './database-rotation';
export type { DatabaseEngine, RotationScheduleProps } from './database-rotation';
/** Props of `DatabaseRotation`: the secret, its rotation function, engine, strategy, network path and schedule. */
export type DatabaseRotationProps = databaseRotation.DatabaseRotationProps;
/** The engines the rotation function speaks: `postgres`, `aurora-postgresql`, `mysql`, `mariadb`, `aurora-mysql`. */
export const DATABASE_ENGINES: readonly databaseRotation.DatabaseEngine[] = databaseRotationValues.DATABASE_ENGINES;

export { MIN_ROTATION_INTERVAL_HOURS } from './rotation-schedule-rules';
export type { RotationScheduleOptions } from './rotation-schedule-rules';

// Fleet-level rotation: the trigger function, group schedules, security alerts.
export { TriggerFunction } from './trigger-function';
export type { TagFilter } from './trigger-function';
/** Props of `TriggerFunction`: the deployment id whose secrets it may rotate, tag filters, rate limits, logging. */
export type TriggerFunctionProps = trigger.TriggerFunctionProps;

export { GroupRotationSchedule, SCHEDULE_SOURCE } from './group-rotation-schedule';
/** Props of `GroupRotationSchedule`: trigger function, tag filters, cron expression and time zone, retries. */
export type GroupRotationScheduleProps = groupSchedule.GroupRotationScheduleProps;

export {
  SecurityAlertRotation,
  HealthEventForwarder,
  requestBusName,
  healthForwarderName,
  ROTATION_REQUESTED,
  HEALTH_GLOBAL_REGION,
} from './security-alert-rotation';
/** Props of `SecurityAlertRotation`: which GuardDuty, Security Hub, AWS Health and "Rotation Requested" events rotate. */
export type SecurityAlertRotationProps = alerts.SecurityAlertRotationProps;
/** Props of `HealthEventForwarder`: the request bus to forward to and the rule/role name. */
export type HealthEventForwarderProps = alerts.HealthEventForwarderProps;

export { TriggerDeadLetterQueue } from './dead-letter-queue';

// Monitoring.
export { RotationMonitoring, ROTATION_FAILURE_EVENTS } from './rotation-monitoring';
/** Props of `RotationMonitoring`: functions and queues to alarm on, alarm e-mail, dashboard name. */
export type RotationMonitoringProps = monitoring.RotationMonitoringProps;

// Tags and metric namespace the functions use.
export { MANAGED_BY_TAG, ROTATED_TARGET_TAG, METRICS_NAMESPACE } from './lambda-bundling';

// The whole deployment from a rotor.config.json document.
export { RotorStack } from './rotor-stack';
/** Props of `RotorStack`: the validated config (`parseRotorConfig`) and the usual StackProps. */
export type RotorStackProps = stack.RotorStackProps;
export { parseRotorConfig, RotorConfigError } from './rotor-config';
export type { RotorConfig } from './rotor-config';
export { loadRotorConfig } from './rotor-config-file';
/** The `network` section of a rotor config: VPC, subnets, security groups of the rotation functions. */
export type NetworkConfig = config.NetworkConfig;
/** The `rotationFunction` section of a rotor config: password policy, TLS floor, timeouts. */
export type RotationFunctionConfig = config.RotationFunctionConfig;
/** One entry of the `rotations` section of a rotor config: a secret, its engine, strategy and schedule. */
export type RotationConfig = config.RotationConfig;
/** The schedule of one rotation in a rotor config. */
export type ScheduleConfig = config.ScheduleConfig;
/** One entry of the `groupSchedules` section of a rotor config. */
export type GroupScheduleConfig = config.GroupScheduleConfig;
/** The `securityAlerts` section of a rotor config. */
export type SecurityAlertsConfig = config.SecurityAlertsConfig;
/** A tag filter in a rotor config (`key`, `values`). */
export type TagFilterConfig = config.TagFilterConfig;
/** The `monitoring` section of a rotor config. */
export type MonitoringConfig = config.MonitoringConfig;
