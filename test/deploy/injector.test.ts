import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseInjectorArgs, startInjector, type RunningInjector } from '../../src/cli/injector.js';
import { INJECT_KEY } from '../../src/kube/annotations.js';
import { WEBHOOK_PATH } from '../../src/kube/webhook-server.js';
import { admissionReview, parseManifests, podOf, WORKLOADS_TEXT, type K8s as Workload } from '../helpers/kube.js';
import { finalStage, parseDockerfile } from './dockerfile.js';
import { readKustomization, renderKustomization, type K8sObject } from './kustomize.js';
import { HAS_KUBECTL } from '../helpers/kubectl.js';

const DEPLOY = new URL('../../deploy/injector/', import.meta.url).pathname;
const TLS = new URL('../fixtures/tls/', import.meta.url).pathname;
const DOCKER_USER = finalStage(parseDockerfile(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'))).user;

interface Container {
  name: string;
  image: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  securityContext: Record<string, unknown>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
}
interface Webhook {
  name: string;
  admissionReviewVersions: string[];
  clientConfig: { caBundle?: string; service: { name: string; namespace: string; path: string; port: number } };
  rules: { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[] }[];
  objectSelector: { matchLabels: Record<string, string> };
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  failurePolicy: string;
  sideEffects: string;
  timeoutSeconds: number;
  reinvocationPolicy: string;
}

const namespaceOf = (o: K8sObject | undefined): string => (o?.metadata as { namespace?: string } | undefined)?.namespace ?? '';
const one = (objects: K8sObject[], kind: string, name?: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as K8sObject;
};
const podSpecOf = (d: K8sObject) => (d.spec as { template: { spec: { containers: Container[]; volumes: { name: string; secret?: { secretName: string } }[]; serviceAccountName: string; automountServiceAccountToken?: boolean } } }).template.spec;
const webhookOf = (objects: K8sObject[]): Webhook => ((one(objects, 'MutatingWebhookConfiguration') as unknown as { webhooks: Webhook[] }).webhooks[0] as Webhook);

describe.each(['', 'own-certificate'])('deploy/injector/%s', (variant) => {
  const dir = join(DEPLOY, variant);
  const objects = renderKustomization(dir);
  const deployment = one(objects, 'Deployment');
  const spec = podSpecOf(deployment);
  const [container] = spec.containers as [Container];
  const parsed = parseInjectorArgs(container.args.slice(1));
  const service = one(objects, 'Service');
  const webhook = webhookOf(objects);

  it.runIf(HAS_KUBECTL)('renders exactly as kubectl kustomize does', () => {
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    const byKey = (list: unknown[]) => new Map((list as K8sObject[]).map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    expect(byKey(parseAllDocuments(out).map((d) => d.toJS()))).toEqual(byKey(objects));
  });

  it('validates against the Kubernetes schemas, and has no RBAC', () => {
    const models: Record<string, new (o: never) => { validate(): void }> = { Namespace, ServiceAccount, Deployment, Service, PodDisruptionBudget, MutatingWebhookConfiguration };
    for (const o of objects) {
      const Model = models[o.kind];
      if (Model === undefined) continue;
      const withCa = structuredClone(o) as K8sObject & { webhooks?: Webhook[] };
      // own-certificate ships a placeholder the API server refuses until replaced; validate with a real CA.
      for (const w of withCa.webhooks ?? []) if (w.clientConfig.caBundle !== undefined) w.clientConfig.caBundle = readFileSync(join(TLS, 'ca.pem')).toString('base64');
      expect(() => new Model(withCa as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
    const kinds = objects.map((o) => o.kind);
    for (const rbac of ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']) expect(kinds).not.toContain(rbac);
    expect(kinds.filter((k) => !['Issuer', 'Certificate'].includes(k)).sort()).toEqual(
      ['Deployment', 'MutatingWebhookConfiguration', 'Namespace', 'PodDisruptionBudget', 'Service', 'ServiceAccount'].sort(),
    );
  });

  it('runs the injector with arguments it accepts, injecting its own image', () => {
    expect(container.args[0]).toBe('injector');
    expect(parsed.kind).toBe('config');
    if (parsed.kind !== 'config') return;
    expect(parsed.config.settings.defaults.image).toBe(container.image);
    expect(container.image).toMatch(/^registry\.example\.com\/guardrail-pdp:/);
  });

  it('reads its certificate from the Secret, mounted as a directory', () => {
    if (parsed.kind !== 'config') throw new Error('bad args');
    const mount = container.volumeMounts.find((m) => parsed.config.certPath.startsWith(`${m.mountPath}/`));
    expect(mount?.subPath).toBeUndefined();
    expect(mount?.readOnly).toBe(true);
    expect(posix.dirname(parsed.config.keyPath)).toBe(mount?.mountPath);
    const secret = spec.volumes.find((v) => v.name === mount?.name)?.secret?.secretName;
    expect(secret).toBe('guardrail-pdp-injector-tls');
    expect([posix.basename(parsed.config.certPath), posix.basename(parsed.config.keyPath)]).toEqual(['tls.crt', 'tls.key']); // kubernetes.io/tls keys
  });

  it('runs two replicas, kept available by a PodDisruptionBudget, as its own ServiceAccount without a token', () => {
    expect((deployment.spec as { replicas: number }).replicas).toBe(2);
    const pdb = one(objects, 'PodDisruptionBudget').spec as { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    expect(pdb.minAvailable).toBe(1);
    expect((deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels).toMatchObject(pdb.selector.matchLabels);
    expect(spec.serviceAccountName).toBe(one(objects, 'ServiceAccount').metadata.name);
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  it('is hardened and runs as the Dockerfile user', () => {
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: Number(DOCKER_USER.split(':')[0]),
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it("is called by the API server through the Service, on the injector's port and path", () => {
    const svc = service.spec as { selector: Record<string, string>; ports: { port: number; targetPort: string }[] };
    const { clientConfig } = webhook;
    expect(clientConfig.service).toMatchObject({ name: service.metadata.name, namespace: namespaceOf(service), path: WEBHOOK_PATH });
    const port = svc.ports.find((p) => p.port === clientConfig.service.port);
    const target = container.ports.find((p) => p.name === port?.targetPort);
    if (parsed.kind !== 'config') throw new Error('bad args');
    expect(target?.containerPort).toBe(parsed.config.listen.port);
    const admin = container.ports.find((p) => p.containerPort === parsed.config.adminListen.port);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: admin?.name });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: admin?.name });
  });

  it('asks for pod CREATEs of labelled pods only, outside system namespaces and its own', () => {
    expect(webhook.admissionReviewVersions).toEqual(['v1']);
    expect(webhook.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    expect(webhook.objectSelector).toEqual({ matchLabels: { [INJECT_KEY]: 'true' } });
    const excluded = webhook.namespaceSelector.matchExpressions.find((e) => e.key === 'kubernetes.io/metadata.name');
    expect(excluded?.operator).toBe('NotIn');
    expect(excluded?.values).toEqual(expect.arrayContaining(['kube-system', webhook.clientConfig.service.namespace]));
    expect(webhook).toMatchObject({ failurePolicy: 'Fail', sideEffects: 'None', reinvocationPolicy: 'IfNeeded' });
    expect(webhook.timeoutSeconds).toBeLessThanOrEqual(10);
  });

  it('serves with those arguments: ready on its probe path, injecting a pod', async () => {
    if (parsed.kind !== 'config') throw new Error('bad args');
    let running: RunningInjector | undefined;
    try {
      running = await startInjector(
        { ...parsed.config, listen: { host: '127.0.0.1', port: 0 }, adminListen: { host: '127.0.0.1', port: 0 }, certPath: join(TLS, 'server.pem'), keyPath: join(TLS, 'server.key') },
        pino({ level: 'silent' }),
      );
      expect((await fetch(`http://${running.adminAddress}${container.readinessProbe.httpGet.path}`)).status).toBe(200);
      expect((await fetch(`http://${running.adminAddress}${container.livenessProbe.httpGet.path}`)).status).toBe(200);
      const { reviewAdmission } = await import('../../src/kube/admission.js');
      const pod = podOf(parseManifests(WORKLOADS_TEXT)[0] as Workload);
      const result = reviewAdmission(admissionReview(pod), parsed.config.settings);
      expect(result.status === 200 && result.outcome.kind).toBe('injected');
    } finally {
      await running?.stop(0);
    }
  });
});

describe('deploy/injector (cert-manager)', () => {
  const objects = renderKustomization(DEPLOY);
  const webhook = one(objects, 'MutatingWebhookConfiguration');
  const certificates = objects.filter((o) => o.kind === 'Certificate') as (K8sObject & { spec: { secretName: string; dnsNames?: string[]; isCA?: boolean; issuerRef: { kind: string; name: string } } })[];
  const serving = certificates.find((c) => c.spec.isCA !== true);

  it('issues the serving certificate for the Service, into the Secret the injector mounts', () => {
    const service = one(objects, 'Service');
    const ns = namespaceOf(service);
    expect(serving?.spec.dnsNames).toContain(`${service.metadata.name}.${ns}.svc`);
    const volumes = podSpecOf(one(objects, 'Deployment')).volumes;
    expect(volumes.map((v) => v.secret?.secretName)).toContain(serving?.spec.secretName);
  });

  it('issues it from a CA of its own (so renewals keep the caBundle valid), whose issuers all exist', () => {
    for (const c of certificates) expect(objects.some((o) => o.kind === c.spec.issuerRef.kind && o.metadata.name === c.spec.issuerRef.name), c.metadata.name).toBe(true);
    const issuer = one(objects, 'Issuer', serving?.spec.issuerRef.name) as K8sObject & { spec: { ca?: { secretName: string } } };
    expect(certificates.find((c) => c.spec.isCA === true)?.spec.secretName).toBe(issuer.spec.ca?.secretName);
  });

  it("has cert-manager inject the serving certificate's CA into the webhook", () => {
    const ns = namespaceOf(serving);
    expect(webhook.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': `${ns}/${serving?.metadata.name}` });
    expect(webhookOf(objects).clientConfig.caBundle).toBeUndefined();
  });
});

describe('deploy/injector/own-certificate', () => {
  const objects = renderKustomization(join(DEPLOY, 'own-certificate'));
  it('has no cert-manager objects, and a caBundle placeholder to replace', () => {
    expect(objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
    expect(one(objects, 'MutatingWebhookConfiguration').metadata.annotations).toBeUndefined();
    expect(webhookOf(objects).clientConfig.caBundle).toBe('CA_BUNDLE_BASE64');
  });
});

describe('deploy/injector kustomizations', () => {
  it.each(['', 'base', 'own-certificate'])('%s lists only files that exist', (dir) => {
    const k = readKustomization(join(DEPLOY, dir));
    const files = [...(k.resources ?? []), ...(k.patches ?? []).map((p) => p.path)];
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(existsSync(join(DEPLOY, dir, f)), f).toBe(true);
  });
});
