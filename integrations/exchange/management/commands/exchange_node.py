"""manage.py exchange_node new-key | export [-o FILE] | add-peer FILE | list — this node and its peers
(docs/exchange.md「如何添加交换节点」)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.exchange import protocol as P
from integrations.exchange.actions import check_add_peer, do_export_node
from integrations.exchange.selectors import exchange_configured, exchange_peers, node_identity
from oa.refusals import Refusal


class Command(BaseCommand):
    help = "公文交换节点：生成节点密钥、导出本节点描述、登记对端节点、列出节点"

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{new-key,export,add-peer,list}")
        sub.add_parser("new-key", help="生成节点私钥（输出一行 base64，填入 OA_EXCHANGE_NODE_KEY）")
        export = sub.add_parser("export", help="输出本节点描述 JSON（交给对端执行 add-peer）")
        export.add_argument("-o", "--output", help="写入文件而不是标准输出")
        add = sub.add_parser("add-peer", help="按对端导出的描述 JSON 登记（或更新）交换节点及其机关")
        add.add_argument("descriptor", help="描述文件路径；“-”表示从标准输入读取")
        sub.add_parser("list", help="列出本节点和已登记的交换节点")

    def handle(self, *args, **options) -> None:
        try:
            getattr(self, "_" + options["action"].replace("-", "_"))(options)
        except (P.ProtocolError, Refusal) as exc:
            raise CommandError(f"{exc.message}（{exc.code}）") from None

    def _new_key(self, options) -> None:
        self.stdout.write(P.new_node_key())

    def _export(self, options) -> None:
        text = json.dumps(do_export_node(), ensure_ascii=False, indent=2)
        if options.get("output"):
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"已写入 {options['output']}")
        else:
            self.stdout.write(text)

    def _add_peer(self, options) -> None:
        source = options["descriptor"]
        try:
            raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
            descriptor = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise CommandError(f"无法读取节点描述：{exc}") from None
        peer, created, agencies = check_add_peer(descriptor)
        verb = "已登记" if created else "已更新"
        self.stdout.write(f"{verb}交换节点 {peer.name}（{peer.code}），地址 {peer.base_url}，机关 {len(agencies)} 个：")
        for agency in agencies:
            self.stdout.write(f"  {agency.uscc}  {agency.name}")

    def _list(self, options) -> None:
        if exchange_configured():
            node = node_identity()
            self.stdout.write(f"本节点：{node.name}（{node.code}） {node.base_url or '（未配置 OA_EXCHANGE_URL）'}")
        else:
            self.stdout.write("本节点：未启用公文交换（未配置 OA_EXCHANGE_NODE_CODE / OA_EXCHANGE_NODE_KEY）")
        for peer in exchange_peers():
            state = "启用" if peer.is_active else "停用"
            self.stdout.write(f"{peer.code}\t{peer.name}\t{peer.base_url}\t{state}\t机关 {len(peer.agency_keys)} 个")
