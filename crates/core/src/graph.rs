//! The dependency graph of a stack: validated once (no duplicate ids, no
//! unknown dependency, no cycle) so the scheduler can trust it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::id::LogicalId;
use crate::resource::{Dependency, Resource};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("two resources share the logical id {0}")]
    Duplicate(LogicalId),
    #[error("{resource} depends on {dependency}, which is not in the stack")]
    UnknownDependency {
        resource: LogicalId,
        dependency: LogicalId,
    },
    #[error("dependency cycle: {}", .0.iter().map(LogicalId::as_str).collect::<Vec<_>>().join(" -> "))]
    Cycle(Vec<LogicalId>),
}

/// How a dependency edge must be satisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Identity,
    Ready,
}

/// Resources and their edges, indexed by position.
pub struct Graph {
    nodes: Vec<Arc<dyn Resource>>,
    index: HashMap<LogicalId, usize>,
    deps: Vec<Vec<(usize, Need)>>,
    dependents: Vec<Vec<usize>>,
    /// A topological order: every node after all of its dependencies.
    order: Vec<usize>,
    /// All nodes, the head of the longest remaining chain first.
    priority: Vec<usize>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field(
                "nodes",
                &self.nodes.iter().map(|n| n.id()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Graph {
    pub fn new(nodes: Vec<Arc<dyn Resource>>) -> Result<Self, GraphError> {
        let mut index = HashMap::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            if index.insert(n.id().clone(), i).is_some() {
                return Err(GraphError::Duplicate(n.id().clone()));
            }
        }
        let mut deps = vec![Vec::new(); nodes.len()];
        let mut dependents = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            for d in n.dependencies() {
                let need = match d {
                    Dependency::Identity(_) => Need::Identity,
                    Dependency::Ready(_) => Need::Ready,
                };
                let j = *index
                    .get(d.target())
                    .ok_or_else(|| GraphError::UnknownDependency {
                        resource: n.id().clone(),
                        dependency: d.target().clone(),
                    })?;
                deps[i].push((j, need));
                dependents[j].push(i);
            }
        }
        let order = topological(&nodes, &deps)?;
        let priority = by_remaining_chain(&nodes, &dependents, &order);
        Ok(Self {
            nodes,
            index,
            deps,
            dependents,
            order,
            priority,
        })
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, i: usize) -> &Arc<dyn Resource> {
        &self.nodes[i]
    }

    pub fn position(&self, id: &LogicalId) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn get(&self, id: &LogicalId) -> Option<&Arc<dyn Resource>> {
        self.position(id).map(|i| &self.nodes[i])
    }

    pub fn dependencies(&self, i: usize) -> &[(usize, Need)] {
        &self.deps[i]
    }

    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.dependents[i]
    }

    /// Node positions, each after all its dependencies.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The order in which to start whatever is startable: the node heading
    /// the longest chain still to run first (a chain's length counts one
    /// second per resource plus each resource's typical readiness wait), so
    /// the database's chain never queues behind quick leaves.
    pub fn priority(&self) -> &[usize] {
        &self.priority
    }

    /// Every node's depth: 0 for nodes without dependencies, else one more
    /// than the deepest dependency. Nodes of equal depth are independent.
    pub fn depths(&self) -> Vec<usize> {
        let mut depth = vec![0; self.len()];
        for &i in &self.order {
            depth[i] = self.deps[i]
                .iter()
                .map(|&(j, _)| depth[j] + 1)
                .max()
                .unwrap_or(0);
        }
        depth
    }
}

fn by_remaining_chain(
    nodes: &[Arc<dyn Resource>],
    dependents: &[Vec<usize>],
    order: &[usize],
) -> Vec<usize> {
    let mut chain = vec![Duration::ZERO; nodes.len()];
    for &i in order.iter().rev() {
        let after = dependents[i]
            .iter()
            .map(|&j| chain[j])
            .max()
            .unwrap_or_default();
        chain[i] = Duration::from_secs(1) + nodes[i].typical_wait() + after;
    }
    let position: Vec<usize> = {
        let mut p = vec![0; nodes.len()];
        for (at, &i) in order.iter().enumerate() {
            p[i] = at;
        }
        p
    };
    let mut priority: Vec<usize> = order.to_vec();
    priority.sort_by_key(|&i| (std::cmp::Reverse(chain[i]), position[i]));
    priority
}

fn topological(
    nodes: &[Arc<dyn Resource>],
    deps: &[Vec<(usize, Need)>],
) -> Result<Vec<usize>, GraphError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark = vec![Mark::New; nodes.len()];
    let mut order = Vec::with_capacity(nodes.len());
    // Iterative DFS so a deep graph cannot overflow the stack; `path` is the
    // chain of active nodes, which is the cycle when one closes.
    for root in 0..nodes.len() {
        if mark[root] != Mark::New {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&(dep, _)) = deps[node].get(*next) {
                *next += 1;
                match mark[dep] {
                    Mark::New => {
                        mark[dep] = Mark::Active;
                        path.push((dep, 0));
                    }
                    Mark::Active => {
                        let start = path.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                        let mut cycle: Vec<LogicalId> = path[start..]
                            .iter()
                            .map(|&(n, _)| nodes[n].id().clone())
                            .collect();
                        cycle.push(nodes[dep].id().clone());
                        return Err(GraphError::Cycle(cycle));
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                path.pop();
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::test_support::Fake;

    #[test]
    fn orders_dependencies_first() {
        let g = Graph::new(vec![
            Fake::node("c", &["b"]),
            Fake::node("b", &["a"]),
            Fake::node("a", &[]),
        ])
        .unwrap();
        let names: Vec<_> = g
            .order()
            .iter()
            .map(|&i| g.node(i).id().to_string())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(g.depths(), vec![2, 1, 0]);
    }

    #[test]
    fn rejects_unknown_dependencies_by_name() {
        let err = Graph::new(vec![Fake::node("a", &["ghost"])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a depends on ghost, which is not in the stack"
        );
    }

    #[test]
    fn rejects_cycles_naming_them() {
        let err = Graph::new(vec![
            Fake::node("a", &["b"]),
            Fake::node("b", &["c"]),
            Fake::node("c", &["a"]),
            Fake::node("d", &[]),
        ])
        .unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: a -> b -> c -> a");
    }

    #[test]
    fn rejects_duplicates() {
        let err = Graph::new(vec![Fake::node("a", &[]), Fake::node("a", &[])]).unwrap_err();
        assert_eq!(err, GraphError::Duplicate(LogicalId::new("a")));
    }
}
