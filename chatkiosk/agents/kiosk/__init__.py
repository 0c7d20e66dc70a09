"""The kiosk agent's domain: a burger-shop counter with no database and no LLM.

- `menu`: the menu (menu.json, editable by the shop owner) and option/price rules;
- `order`: the order and its state machine `greet → order → option → pay → done`;
- `commands`: the nine commands, the only way to change an order (`execute`, `COMMANDS`);
- `parser`: the rule-based parser that turns plain orders into commands with no LLM call;
- `reply`: the kiosk's answer, written from the resulting order.
"""
