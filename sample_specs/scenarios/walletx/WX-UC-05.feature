# language: zh-CN
功能: WX-UC-05 查询流水
  用户文档 5.5 节：最新的付款排在流水第一条。

  场景: 刚完成的付款列在流水第一条
    当以测试账户“zhangsan”登录
    而且向测试账户“lisi”转账“1.00”元
    那么操作成功
    而且记下应答字段“transfer_id”为“付款单号”
    当查看交易记录
    那么操作成功
    而且应答字段“items”的第一项含有记下的“付款单号”
    而且应答字段“items”的第一项中“direction”为“OUT”
    而且应答字段“items”的第一项中“counterpartyWalletNo”为“<lisi.账号>”
    而且应答字段“items”的第一项中“amountFen”为“100”
