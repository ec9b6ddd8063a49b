"""The REST driver's declared operations as the checks see them, and what their answers say."""

from __future__ import annotations

import string
from typing import Any

import requests

from harness.drivers.base import DriverError, OperationInfo
from harness.drivers.http import HttpDriver, dig, meets
from harness.drivers.rest_wire import _field_roles, _role_unsafe, from_wire_amount
from harness.spec.model import LoginOperation, ObjectKind, Operation, RestDriver


class RestOperations(HttpDriver):
    """The declared operations of a REST driver description (``desc``) and their answers."""

    desc: RestDriver

    # -- operations ------------------------------------------------------------------------------
    def has(self, operation: str) -> bool:
        return operation in self.desc.operations or operation in self.desc.flows

    def operation(self, name: str) -> Operation:
        """The declared request; for a flow, its last step (the one that moves money). Without a
        login, "login" is the request a password attempt is made with (see ``password_probe``)."""
        if name == "login" and self.desc.login is not None:
            return self.desc.login
        if name == "login" and name not in self.desc.operations and self.password_probe() is not None:
            return self.desc.operations[str(self.password_probe())]
        if name == "logout" and self.desc.logout is not None:
            return self.desc.logout
        if name in self.desc.flows:
            return self.operation(self.desc.flows[name][-1].operation)
        try:
            return self.desc.operations[name]
        except KeyError:
            raise DriverError(f"the spec declares no operation {name!r}") from None

    def password_probe(self) -> str | None:
        """For a product with no login whose every request carries the password (HTTP Basic): the
        safe, authenticated read that the session's own credentials decide and an account's own
        values fill. Its answer to a wrong password is what a failed login is elsewhere; its declared
        success, what a successful one is. None when there is a login or no such read."""
        if self.desc.login is not None or not any(s.kind == "basic" for s in self.desc.auth_schemes()):
            return None
        accts = self.declared
        fillable = set.intersection(*(set(a.known()) for a in accts)) if accts else set()
        if self.desc.provision is not None:
            fillable |= {"username", "password", *self.desc.provision.values}
        reads = [
            n
            for n, op in self.desc.operations.items()
            if op.effective_kind() == "read" and op.auth is True and not op.unsafe and set(op.inputs()) <= fillable
        ]
        reads.sort(key=lambda n: n != "account")  # the account's own record, where there is one
        return reads[0] if reads else None

    def info(self, name: str) -> OperationInfo:
        if name in self.desc.flows:
            steps = [self.operation(s.operation) for s in self.desc.flows[name]]
            captured = {c for s in self.desc.flows[name] for c in s.capture} | {c for op in steps for c in op.capture}
            last = steps[-1]
            return OperationInfo(
                name=name,
                kind=last.effective_kind(),
                auth=any(bool(op.auth) or bool(op.credentials) for op in steps),
                by_session=last.auth is True,
                signed=any(op.signed for op in steps),
                unsafe=next((op.unsafe or _role_unsafe(op) for op in steps if op.unsafe or op.role), None),
                method=last.method,
                inputs=tuple(dict.fromkeys(i for op in steps for i in op.inputs() if i not in captured)),
                path_inputs=tuple(dict.fromkeys(i for op in steps for i in op.path_inputs() if i not in captured)),
                body_fields=tuple((last.body or {}).keys()) if isinstance(last.body, dict) else (),
                returns=tuple([*last.returns.values(), *last.capture.values()]),
                path=last.path,
                field_roles=_field_roles(last),
            )
        op = self.operation(name)
        read = [p for p in [*op.returns.values(), *op.capture.values()] if p not in ("$", "")]
        if isinstance(op, LoginOperation):
            read += [p for p in (op.token_from, op.sign_key_from) if p]
        return OperationInfo(
            name=name,
            kind=op.effective_kind(),
            auth=bool(op.auth) or bool(op.credentials),
            by_session=op.auth is True,
            signed=op.signed,
            unsafe=op.unsafe or _role_unsafe(op),
            method=op.method,
            inputs=tuple(op.inputs()),
            path_inputs=tuple(op.path_inputs()),
            body_fields=tuple((op.body or {}).keys()) if isinstance(op.body, dict) else (),
            returns=tuple(dict.fromkeys(read)),
            path=op.path,
            field_roles=_field_roles(op),
            role=op.role,
        )

    def operations(self) -> dict[str, OperationInfo]:
        return {n: self.info(n) for n in [*self.desc.operations, *self.desc.flows]}

    def object_ids(self) -> set[str]:
        """The value names that identify an account's own things: the declared object kinds' IDs,
        and every value the accounts hold under different values (their account numbers, user IDs)."""
        ids = {o.id for o in self.desc.objects.values()}
        accts = self.accounts()
        names = (
            {n for a in accts for n in a.known()} - {"password", "balance", "sign_secret"} - self._credential_names()
        )
        for n in names:
            vals = [a.known().get(n) for a in accts]
            if len(accts) > 1 and all(vals) and len(set(vals)) == len(vals):
                ids.add(n)
        if any(a.account_id for a in accts):
            ids |= {"account_id", "from_account"}
        return ids

    def _credential_names(self) -> set[str]:
        """Values that are credentials (named by an auth scheme or the signing key), not identifiers."""
        schemes = [*self.desc.auth_schemes()]
        for op in self.desc.operations.values():
            schemes += op.credentials + (list(op.auth) if isinstance(op.auth, list) else [])
        texts = [t for s in schemes for t in (s.value, s.username, s.password) if t]
        if self.desc.signing is not None and self.desc.signing.key_value:
            texts.append(self.desc.signing.key_value)
        names = {f.split(".")[0] for t in texts for _, f, _, _ in string.Formatter().parse(t) if f}
        return (names - {"username"}) | {"token"}

    def signed_fields(self) -> list[str]:
        return list(self.desc.signing.fields) if self.desc.signing else []

    def objects(self) -> dict[str, ObjectKind]:
        return dict(self.desc.objects)

    # -- answers ---------------------------------------------------------------------------------
    def succeeded(self, operation: str, response: requests.Response) -> bool:
        op = self.operation(operation)
        return meets(op.success, op.expect_status, response)

    def returned(self, response: requests.Response, operation: str, name: str) -> Any:
        op = self.operation(operation)
        path = op.returns.get(name, name)
        try:
            value = dig(response.json(), path)
        except (ValueError, KeyError, IndexError):
            raise DriverError(
                f"{operation}: the answer ({response.status_code}) has no field {path!r} declared for {name!r}"
            ) from None
        if op.amounts is not None and name in op.amounts.returns:
            try:
                return from_wire_amount(op.amounts, value)
            except ValueError as e:
                raise DriverError(f"{operation}: {name} ({path}): {e}") from None
        return value
