# language: zh-CN
功能: UC-01 以用户名和口令登录并查看当前用户（REST API：Login；Current user）

  场景: 测试用户登录后，当前用户即为本人
    假如 以测试账户“alice”登录
    当 调用操作“currentuser”
    那么 操作成功
    而且 应答字段“name”为“<alice.用户名>”
