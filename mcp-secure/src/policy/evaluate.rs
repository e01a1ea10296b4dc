//! Deciding a call by the policies without Cedar's authorizer: the same expressions (the
//! conditions Cedar parsed, scope included, from cedar-policy-core's AST), walked over values
//! borrowed from the call.
//!
//! Why not Cedar's own: its authorizer costs about 68 000 instructions a call for one policy
//! (entities and context built as Cedar values, a transitive closure, a partial evaluator),
//! 1.38× a guarded call; a policy decided here costs about 7 000, 1.04× (BENCHMARKS.md). The
//! semantics are Cedar's, node for node (`cedar_policy_core::evaluator`): operands evaluated
//! left to right, `&&`, `||` and `if` short-circuit, a wrong type, an overflow or a missing
//! attribute is an error of that policy (which refuses the call: `denied.rs`), entities other
//! than the caller and a row are not in the store. `tests.rs` holds both to the same answers
//! on generated policies and requests. A policy with a node this walk does not know (an
//! extension function, a slot) leaves the whole set to Cedar's authorizer.

use std::borrow::Cow;

use cedar_policy_core::ast::{
    ActionConstraint, BinaryOp, Effect, Expr, ExprKind, Literal, UnaryOp, Var,
};

use super::value::{Record, Set, Uid, Val, caller_attribute};
use crate::auth::Principal;

/// One policy, as Cedar parsed it.
pub(crate) struct Compiled {
    /// Its `@id`.
    pub id: String,
    pub forbid: bool,
    /// Scope and conditions, as one expression.
    condition: Expr,
    /// The tools its action scope names; `None`: every tool.
    actions: Option<Vec<String>>,
}

impl Compiled {
    /// `policy` for this walk, or `None` if it has a node the walk does not evaluate.
    pub fn new(
        policy: &cedar_policy::Policy,
        id: String,
        action_type: &cedar_policy_core::ast::EntityType,
    ) -> Option<Self> {
        let ast: &cedar_policy_core::ast::Policy = policy.as_ref();
        let condition = ast.condition();
        if !supported(&condition) {
            return None;
        }
        let condition = fold(&condition);
        // Actions have no parents here: `action in [A, B]` is `action == A || action == B`.
        let named = |uids: &mut dyn Iterator<Item = &cedar_policy_core::ast::EntityUID>| {
            uids.filter(|uid| uid.entity_type() == action_type)
                .map(|uid| uid.eid().as_ref().to_owned())
                .collect()
        };
        let actions = match ast.action_constraint() {
            ActionConstraint::Any => None,
            ActionConstraint::Eq(uid) => Some(named(&mut std::iter::once(uid.as_ref()))),
            ActionConstraint::In(uids) => Some(named(&mut uids.iter().map(|u| u.as_ref()))),
            #[allow(unreachable_patterns)]
            _ => return None,
        };
        Some(Self {
            id,
            forbid: ast.effect() == Effect::Forbid,
            condition,
            actions,
        })
    }

    /// Whether this policy can apply to calls of `tool`: its scope names the action, or all.
    /// Only an optimisation: the scope is part of the condition, and evaluating it cannot fail.
    pub fn may_apply_to(&self, tool: &str) -> bool {
        self.actions
            .as_ref()
            .is_none_or(|tools| tools.iter().any(|t| t == tool))
    }
}

/// `e` with each `true && x` and `x && true` whose `x` always yields a boolean (or fails) as
/// `x`: the same answer, and errors, for less work (a scope without constraints is `true`).
fn fold(e: &Expr) -> Expr {
    let ExprKind::And { left, right } = e.expr_kind() else {
        return e.clone();
    };
    let (left, right) = (fold(left), fold(right));
    let is_true = |e: &Expr| matches!(e.expr_kind(), ExprKind::Lit(Literal::Bool(true)));
    match (is_true(&left), is_true(&right)) {
        (true, _) if yields_bool(&right) => right,
        (_, true) if yields_bool(&left) => left,
        _ => Expr::and(left, right),
    }
}

/// Whether `e` yields a boolean whenever it does not fail.
fn yields_bool(e: &Expr) -> bool {
    match e.expr_kind() {
        ExprKind::Lit(lit) => matches!(lit, Literal::Bool(_)),
        ExprKind::And { .. }
        | ExprKind::Or { .. }
        | ExprKind::HasAttr { .. }
        | ExprKind::ExtHasAttr { .. }
        | ExprKind::Like { .. }
        | ExprKind::Is { .. } => true,
        ExprKind::UnaryApp { op, .. } => matches!(op, UnaryOp::Not | UnaryOp::IsEmpty),
        ExprKind::BinaryApp { op, .. } => !matches!(
            op,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::GetTag
        ),
        _ => false,
    }
}

/// How deep a condition the walk takes: it recurses on the thread's stack, where Cedar's own
/// evaluator grows its stack as it goes.
const MAX_DEPTH: usize = 256;

/// Whether every node of `e` is one [`eval`] evaluates, at most [`MAX_DEPTH`] deep.
pub(super) fn supported(e: &Expr) -> bool {
    within(e, MAX_DEPTH)
}

fn within(e: &Expr, depth: usize) -> bool {
    let Some(depth) = depth.checked_sub(1) else {
        return false;
    };
    let ok = |e: &Expr| within(e, depth);
    match e.expr_kind() {
        ExprKind::Lit(_) | ExprKind::Var(_) => true,
        ExprKind::If {
            test_expr,
            then_expr,
            else_expr,
        } => ok(test_expr) && ok(then_expr) && ok(else_expr),
        ExprKind::And { left, right } | ExprKind::Or { left, right } => ok(left) && ok(right),
        ExprKind::UnaryApp { arg, .. } => ok(arg),
        ExprKind::BinaryApp { arg1, arg2, .. } => ok(arg1) && ok(arg2),
        ExprKind::GetAttr { expr, .. }
        | ExprKind::HasAttr { expr, .. }
        | ExprKind::ExtHasAttr { expr, .. }
        | ExprKind::Like { expr, .. }
        | ExprKind::Is { expr, .. } => ok(expr),
        ExprKind::Set(items) => items.iter().all(ok),
        ExprKind::Record(fields) => fields.values().all(ok),
        // Slots, unknowns, extension functions (and whatever a later Cedar adds).
        _ => false,
    }
}

/// What a call is, as policies see it.
pub(crate) struct Request<'a> {
    pub caller: &'a Principal,
    pub principal: Uid<'a>,
    pub action: Uid<'a>,
    pub resource: Uid<'a>,
    /// The resource's attributes when it is a row (the only entity besides the caller).
    pub row: Option<&'a Record<'a>>,
    /// A record.
    pub context: &'a Val<'a>,
}

/// What the policies said of a request, as Cedar's authorizer reports it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome<'p> {
    /// The policies that failed to evaluate.
    pub errors: Vec<&'p str>,
    /// The `forbid`s whose conditions held.
    pub forbids: Vec<&'p str>,
    /// Whether a `permit`'s condition held.
    pub permitted: bool,
}

/// Evaluates `policies` on `request`.
pub(crate) fn decide<'p>(
    policies: impl Iterator<Item = &'p Compiled>,
    request: &Request<'_>,
) -> Outcome<'p> {
    let mut outcome = Outcome::default();
    for policy in policies {
        match eval(&policy.condition, request).map(|v| as_bool(&v)) {
            Ok(Ok(false)) => {}
            Ok(Ok(true)) if policy.forbid => outcome.forbids.push(&policy.id),
            Ok(Ok(true)) => outcome.permitted = true,
            Ok(Err(Failed)) | Err(Failed) => outcome.errors.push(&policy.id),
        }
    }
    outcome
}

/// A policy failed to evaluate: a value of the wrong type, an overflow, a missing attribute.
#[derive(Debug)]
struct Failed;

type Out<'e> = Result<Cow<'e, Val<'e>>, Failed>;

fn owned(v: Val<'_>) -> Out<'_> {
    Ok(Cow::Owned(v))
}

fn as_bool(v: &Val<'_>) -> Result<bool, Failed> {
    match v {
        Val::Bool(b) => Ok(*b),
        _ => Err(Failed),
    }
}

fn as_long(v: &Val<'_>) -> Result<i64, Failed> {
    match v {
        Val::Long(n) => Ok(*n),
        _ => Err(Failed),
    }
}

fn as_set<'v, 'e>(v: &'v Val<'e>) -> Result<&'v Set<'e>, Failed> {
    match v {
        Val::Set(s) => Ok(s),
        _ => Err(Failed),
    }
}

fn as_entity<'v, 'e>(v: &'v Val<'e>) -> Result<&'v Uid<'e>, Failed> {
    match v {
        Val::Entity(uid) => Ok(uid),
        _ => Err(Failed),
    }
}

/// An entity in the store: the caller, or the row.
enum Stored<'e> {
    Caller,
    Row(&'e Record<'e>),
}

fn stored<'e>(request: &Request<'e>, uid: &Uid<'_>) -> Option<Stored<'e>> {
    if *uid == request.principal {
        return Some(Stored::Caller);
    }
    match request.row {
        Some(row) if *uid == request.resource => Some(Stored::Row(row)),
        _ => None,
    }
}

/// `value.attr` when it has it: `Ok(None)` when it does not, or is an entity not in the store
/// (`has` is false of both; `.` fails on both).
fn attribute<'e>(
    request: &Request<'e>,
    value: Cow<'e, Val<'e>>,
    attr: &str,
) -> Result<Option<Cow<'e, Val<'e>>>, Failed> {
    match value {
        Cow::Borrowed(Val::Record(record)) => Ok(record.get(attr).map(Cow::Borrowed)),
        Cow::Owned(Val::Record(record)) => Ok(record.get(attr).cloned().map(Cow::Owned)),
        Cow::Borrowed(Val::Entity(uid)) => Ok(entity_attribute(request, uid, attr)),
        Cow::Owned(Val::Entity(uid)) => Ok(entity_attribute(request, &uid, attr)),
        _ => Err(Failed),
    }
}

fn entity_attribute<'e>(
    request: &Request<'e>,
    uid: &Uid<'_>,
    attr: &str,
) -> Option<Cow<'e, Val<'e>>> {
    match stored(request, uid)? {
        Stored::Caller => caller_attribute(request.caller, attr).map(Cow::Owned),
        Stored::Row(row) => row.get(attr).map(Cow::Borrowed),
    }
}

fn literal(lit: &Literal) -> Val<'_> {
    match lit {
        Literal::Bool(b) => Val::Bool(*b),
        Literal::Long(n) => Val::Long(*n),
        Literal::String(s) => Val::Str(Cow::Borrowed(s.as_str())),
        Literal::EntityUID(uid) => Val::Entity(Uid {
            ty: uid.entity_type(),
            id: Cow::Borrowed(uid.eid().as_ref()),
        }),
    }
}

fn eval<'e>(e: &'e Expr, r: &Request<'e>) -> Out<'e> {
    match e.expr_kind() {
        ExprKind::Lit(lit) => owned(literal(lit)),
        ExprKind::Var(Var::Principal) => owned(Val::Entity(r.principal.clone())),
        ExprKind::Var(Var::Action) => owned(Val::Entity(r.action.clone())),
        ExprKind::Var(Var::Resource) => owned(Val::Entity(r.resource.clone())),
        ExprKind::Var(Var::Context) => Ok(Cow::Borrowed(r.context)),
        ExprKind::If {
            test_expr,
            then_expr,
            else_expr,
        } => match as_bool(&*eval(test_expr, r)?)? {
            true => eval(then_expr, r),
            false => eval(else_expr, r),
        },
        ExprKind::And { left, right } => match as_bool(&*eval(left, r)?)? {
            false => owned(Val::Bool(false)),
            true => owned(Val::Bool(as_bool(&*eval(right, r)?)?)),
        },
        ExprKind::Or { left, right } => match as_bool(&*eval(left, r)?)? {
            true => owned(Val::Bool(true)),
            false => owned(Val::Bool(as_bool(&*eval(right, r)?)?)),
        },
        ExprKind::UnaryApp { op, arg } => {
            let arg = eval(arg, r)?;
            owned(match op {
                UnaryOp::Not => Val::Bool(!as_bool(&arg)?),
                UnaryOp::Neg => Val::Long(as_long(&arg)?.checked_neg().ok_or(Failed)?),
                UnaryOp::IsEmpty => Val::Bool(as_set(&arg)?.items().is_empty()),
            })
        }
        ExprKind::BinaryApp { op, arg1, arg2 } => {
            let (a, b) = (eval(arg1, r)?, eval(arg2, r)?);
            owned(binary(*op, &a, &b)?)
        }
        ExprKind::GetAttr { expr, attr } => attribute(r, eval(expr, r)?, attr)?.ok_or(Failed),
        ExprKind::HasAttr { expr, attr } => {
            owned(Val::Bool(attribute(r, eval(expr, r)?, attr)?.is_some()))
        }
        ExprKind::ExtHasAttr { expr, attrs } => {
            // `e has a.b` is `e has a && e.a has b`, stopping at the first missing.
            let mut value = eval(expr, r)?;
            for attr in attrs.iter() {
                match attribute(r, value, attr)? {
                    Some(next) => value = next,
                    None => return owned(Val::Bool(false)),
                }
            }
            owned(Val::Bool(true))
        }
        ExprKind::Like { expr, pattern } => match &*eval(expr, r)? {
            Val::Str(s) => owned(Val::Bool(pattern.wildcard_match(s))),
            _ => Err(Failed),
        },
        ExprKind::Is { expr, entity_type } => {
            owned(Val::Bool(as_entity(&*eval(expr, r)?)?.ty == entity_type))
        }
        ExprKind::Set(items) => {
            let items = items
                .iter()
                .map(|item| eval(item, r).map(Cow::into_owned))
                .collect::<Result<Vec<_>, _>>()?;
            owned(Val::Set(Set::new(items)))
        }
        ExprKind::Record(fields) => {
            let pairs = fields
                .iter()
                .map(|(name, value)| {
                    Ok((Cow::Borrowed(name.as_str()), eval(value, r)?.into_owned()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            owned(Val::Record(Record::new(pairs).ok_or(Failed)?))
        }
        // Refused by `supported`.
        _ => Err(Failed),
    }
}

fn binary<'e>(op: BinaryOp, a: &Val<'e>, b: &Val<'e>) -> Result<Val<'e>, Failed> {
    Ok(match op {
        BinaryOp::Eq => Val::Bool(a == b),
        BinaryOp::Less => Val::Bool(as_long(a)? < as_long(b)?),
        BinaryOp::LessEq => Val::Bool(as_long(a)? <= as_long(b)?),
        BinaryOp::Add => Val::Long(as_long(a)?.checked_add(as_long(b)?).ok_or(Failed)?),
        BinaryOp::Sub => Val::Long(as_long(a)?.checked_sub(as_long(b)?).ok_or(Failed)?),
        BinaryOp::Mul => Val::Long(as_long(a)?.checked_mul(as_long(b)?).ok_or(Failed)?),
        // No entity has parents here: `in` is equality with the entity or one of the set's,
        // each of which must be an entity.
        BinaryOp::In => {
            let uid = as_entity(a)?;
            match b {
                Val::Entity(other) => Val::Bool(uid == other),
                Val::Set(set) => {
                    let mut found = false;
                    for item in set.items() {
                        found |= as_entity(item)? == uid;
                    }
                    Val::Bool(found)
                }
                _ => return Err(Failed),
            }
        }
        BinaryOp::Contains => Val::Bool(as_set(a)?.contains(b)),
        BinaryOp::ContainsAll => {
            let (a, b) = (as_set(a)?, as_set(b)?);
            Val::Bool(b.items().iter().all(|item| a.contains(item)))
        }
        BinaryOp::ContainsAny => {
            let (a, b) = (as_set(a)?, as_set(b)?);
            Val::Bool(b.items().iter().any(|item| a.contains(item)))
        }
        // No entity here has tags.
        BinaryOp::HasTag | BinaryOp::GetTag => {
            as_entity(a)?;
            if !matches!(b, Val::Str(_)) {
                return Err(Failed);
            }
            match op {
                BinaryOp::HasTag => Val::Bool(false),
                _ => return Err(Failed),
            }
        }
    })
}
