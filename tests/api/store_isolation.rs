//! Property: an org-scoped handle never reads, lists or removes a key of another org, for any
//! org ids (neighbouring ones included) and any local keys.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use voxanne::audit::AuditHead;
use voxanne::audit::AUDIT_HEAD;
use voxanne::domain::OrgId;
use voxanne::store::OrgReads;

fn org_pair() -> impl Strategy<Value = (u128, u128)> {
    prop_oneof![
        any::<(u128, u128)>(),
        any::<u128>().prop_map(|a| (a, a.wrapping_add(1))),
        any::<u128>().prop_map(|a| (a, a.wrapping_sub(1))),
        Just((0, u128::MAX)),
        Just((u128::MAX, u128::MAX - 1)),
    ]
    .prop_filter("distinct orgs", |(a, b)| a != b)
}

fn local_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..6),
        vec(prop_oneof![Just(0u8), Just(255u8)], 0..4)
    ]
}

type Model = BTreeMap<Vec<u8>, u64>;

#[test]
fn an_org_handle_never_sees_or_touches_another_orgs_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = voxanne::schema::open_store(dir.path()).unwrap();
    let mut runner = TestRunner::new(Config::with_cases(96));
    let strategy = (
        org_pair(),
        vec((any::<bool>(), local_key(), any::<u64>()), 1..12),
        local_key(),
        vec(local_key(), 0..3),
    );
    runner
        .run(&strategy, |((a, b), writes, prefix, removals)| {
            let (org_a, org_b) = (OrgId::from_u128(a), OrgId::from_u128(b));
            let (mut model_a, mut model_b) = (Model::new(), Model::new());
            let w = store.begin_write().unwrap();
            {
                // Start each case from empty orgs.
                for org in [org_a, org_b] {
                    let mut h = w.org(org);
                    for (k, _) in h.scan(&AUDIT_HEAD, &[], None, usize::MAX).unwrap() {
                        h.remove(&AUDIT_HEAD, &k).unwrap();
                    }
                }
                for (to_a, key, value) in &writes {
                    let (org, model) = if *to_a {
                        (org_a, &mut model_a)
                    } else {
                        (org_b, &mut model_b)
                    };
                    w.org(org)
                        .put(
                            &AUDIT_HEAD,
                            key,
                            &AuditHead {
                                seq: *value,
                                hash: String::new(),
                            },
                        )
                        .unwrap();
                    model.insert(key.clone(), *value);
                }
                for key in &removals {
                    let existed = w.org(org_a).remove(&AUDIT_HEAD, key).unwrap();
                    prop_assert_eq!(existed, model_a.remove(key).is_some());
                }
            }
            w.commit().unwrap();

            let r = store.begin_read().unwrap();
            for (org, model) in [(org_a, &model_a), (org_b, &model_b)] {
                let h = r.org(org);
                // Every key of the model reads back this org's value, never the other's.
                for (k, v) in model {
                    prop_assert_eq!(h.get(&AUDIT_HEAD, k).unwrap().map(|x| x.seq), Some(*v));
                }
                // A full scan and a prefix scan list exactly this org's keys.
                let all: Model = h
                    .scan(&AUDIT_HEAD, &[], None, usize::MAX)
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k, v.seq))
                    .collect();
                prop_assert_eq!(&all, model);
                let listed: Vec<Vec<u8>> = h
                    .scan(&AUDIT_HEAD, &prefix, None, usize::MAX)
                    .unwrap()
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                let expected: Vec<Vec<u8>> = model
                    .keys()
                    .filter(|k| k.starts_with(&prefix))
                    .cloned()
                    .collect();
                prop_assert_eq!(listed, expected);
            }
            // Keys only B holds are invisible through A.
            for k in model_b.keys().filter(|k| !model_a.contains_key(*k)) {
                prop_assert!(r.org(org_a).get(&AUDIT_HEAD, k).unwrap().is_none());
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn purging_an_org_removes_exactly_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = voxanne::schema::open_store(dir.path()).unwrap();
    let mut runner = TestRunner::new(Config::with_cases(24));
    runner
        .run(
            &(
                org_pair(),
                vec((any::<bool>(), local_key(), any::<u64>()), 1..10),
            ),
            |((a, b), writes)| {
                let (org_a, org_b) = (OrgId::from_u128(a), OrgId::from_u128(b));
                store.purge_org(org_a).unwrap();
                store.purge_org(org_b).unwrap();
                let mut model_b = Model::new();
                let w = store.begin_write().unwrap();
                for (to_a, key, value) in &writes {
                    let org = if *to_a { org_a } else { org_b };
                    w.org(org)
                        .put(
                            &AUDIT_HEAD,
                            key,
                            &AuditHead {
                                seq: *value,
                                hash: String::new(),
                            },
                        )
                        .unwrap();
                    if !to_a {
                        model_b.insert(key.clone(), *value);
                    }
                }
                w.commit().unwrap();
                store.purge_org(org_a).unwrap();
                let r = store.begin_read().unwrap();
                prop_assert!(r
                    .org(org_a)
                    .scan(&AUDIT_HEAD, &[], None, usize::MAX)
                    .unwrap()
                    .is_empty());
                let left: Model = r
                    .org(org_b)
                    .scan(&AUDIT_HEAD, &[], None, usize::MAX)
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k, v.seq))
                    .collect();
                prop_assert_eq!(left, model_b);
                Ok(())
            },
        )
        .unwrap();
}
