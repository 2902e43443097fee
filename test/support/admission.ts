/** The webhook's specs: the AdmissionReview the API server sends for a new pod. */

/** A CREATE review of an opted-in pod in `namespace` naming SecureKey `secureKey` under alias `db`. */
export function podReviewJson(uid: string, namespace: string, secureKey: string): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace,
      object: {
        metadata: {
          name: uid,
          labels: { 'securekey.io/inject': 'true' },
          annotations: { 'securekey.io/key-db': secureKey },
        },
        spec: { containers: [{ name: 'app', image: 'a' }] },
      },
    },
  });
}
